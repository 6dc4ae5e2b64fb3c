"""Batch envelopes on the producing side: arrays per murmur2 partition, bounded, order kept, keyed by the first."""

from __future__ import annotations

from core.partitioning import Partitioner
from producers.batching import envelopes
from schemas import decode_batch, encode
from schemas.readings import Reading


def _pairs(n: int) -> list[tuple[bytes, bytes]]:
    readings = [Reading(device_id=f"sim-pc-{i:05d}", device_type="pc", ts=1000, seq=i) for i in range(n)]
    return [(r.device_id.encode(), encode(r)) for r in readings]


def test_every_array_holds_only_its_partitions_devices_up_to_the_batch_size() -> None:
    partitioner = Partitioner(3)
    pairs = _pairs(100)
    out = list(envelopes(pairs, partitioner, 7))
    seen = []
    for partition, key, value, count in out:
        good, bad = decode_batch(value)
        assert bad == [] and len(good) == count <= 7
        assert key == good[0].device_id.encode()
        assert {partitioner(r.device_id.encode()) for r in good} == {partition}
        seen += good
    assert sorted(r.seq for r in seen) == list(range(100))  # nothing lost, nothing doubled
    for partition in range(3):  # per partition, readings keep the round's order
        seqs = [r.seq for p, _, v, _ in out if p == partition for r in decode_batch(v)[0]]
        assert seqs == sorted(seqs)


def test_a_batch_size_of_one_is_one_reading_per_array() -> None:
    assert all(count == 1 for *_, count in envelopes(_pairs(10), Partitioner(2), 1))
