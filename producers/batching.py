"""The readings batch envelope on the producing side: a round's readings grouped by partition into arrays.

Rule (schemas/readings.py): every reading in one array belongs to a device whose murmur2 partition is the
message's partition, and the message key is the first reading's device_id. Each array goes to that
partition explicitly, so per-device order and co-partitioning are the same as one message per reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from core.partitioning import Partitioner


def envelopes(
    readings: Iterable[tuple[bytes, bytes]], partitioner: Partitioner, batch_size: int
) -> Iterator[tuple[int, bytes, bytes, int]]:
    """(key, encoded reading) pairs → (partition, key, array value, readings in it), at most `batch_size`
    readings per array, readings of one partition in their original order."""
    by_partition: dict[int, list[tuple[bytes, bytes]]] = {}
    for key, value in readings:
        by_partition.setdefault(partitioner(key), []).append((key, value))
    for partition, pairs in sorted(by_partition.items()):
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start : start + batch_size]
            yield partition, chunk[0][0], b"[" + b",".join(value for _, value in chunk) + b"]", len(chunk)
