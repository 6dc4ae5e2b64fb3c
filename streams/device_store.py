"""The worker's two tables through one door: the only module that touches Faust's store internals.

Device states are written with an explicit partition (the readings' partition) because a take() batch mixes
partitions; their changelog records go through the worker's own producer (streams/outputs.py), so one
device's records stay in order. `commit_states` waits for those records and tells the store how far its
changelog is persisted.
"""

from __future__ import annotations

from collections.abc import Iterator

import faust
from faust.types import TP

from streams import continuity
from streams.app import applied_offsets, devices
from streams.pipeline import outputs
from streams.processor import Record

CHANGELOG = devices.changelog_topic.get_topic_name()
APPLIED_CHANGELOG = applied_offsets.changelog_topic.get_topic_name()


def load_state(device_id: str, partition: int | None = None) -> bytes | None:
    return _get(devices, device_id.encode(), partition)


def write_state(device_id: str, partition: int, value: bytes) -> None:
    """Store and changelog one device's state on the readings' partition (co-partitioned by construction)."""
    _put(devices, CHANGELOG, device_id.encode(), partition, value)


def states() -> Iterator[tuple[str, bytes]]:
    """(device_id, encoded state) of every device this worker holds (a snapshot: safe to write meanwhile)."""
    for key, value in list(devices.data.items()):
        yield key.decode(), value


def device_count() -> int:
    return len(devices.data)


def applied(topic: str, partitions: set[int]) -> dict[int, int]:
    """Each partition's applied offset (streams/continuity.py), where one is stored."""
    stored = {p: _get(applied_offsets, _applied_key(topic, p), p) for p in partitions}
    return {p: int(raw) for p, raw in stored.items() if raw is not None}


def mark_applied(topic: str, batch: list[Record]) -> None:
    """Called once the batch's state writes are queued: flushed with them, before the offsets commit."""
    done = applied(topic, {record.partition for record in batch})
    for partition, offset in continuity.newest_offsets(batch).items():
        if offset > done.get(partition, -1):
            _put(applied_offsets, APPLIED_CHANGELOG, _applied_key(topic, partition), partition, b"%d" % offset)


async def commit_states() -> None:
    """Wait until the changelog records are acknowledged; tell a RocksDB store how far it is persisted."""
    await outputs.flush()
    for (topic, partition), offset in list(outputs.delivered.items()):  # a copy: delivery callbacks add keys
        for table, changelog in ((devices, CHANGELOG), (applied_offsets, APPLIED_CHANGELOG)):
            if topic == changelog:
                table.data.set_persisted_offset(TP(topic, partition), offset)


def _applied_key(topic: str, partition: int) -> bytes:
    return f"{topic}/{partition}".encode()


def _get(table: faust.TableT, key: bytes, partition: int | None) -> bytes | None:
    store = table.data
    if partition is not None and hasattr(store, "_db_for_partition"):
        # RocksDB store: it picks the partition from the *current event*, which in a take() batch is the
        # last event's, not this key's; so address the key's partition explicitly.
        return store._db_for_partition(partition).get(key)
    return store.get(key)


def _put(table: faust.TableT, changelog: str, key: bytes, partition: int, value: bytes) -> None:
    store = table.data
    if hasattr(store, "_db_for_partition"):  # RocksDB: explicit partition, as in _get
        store._db_for_partition(partition).put(key, value)
        store._key_index[key] = partition
    else:
        store[key] = value
    outputs.produce_changelog(changelog, partition, key, value)
