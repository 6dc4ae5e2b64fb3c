"""Holes between a partition's applied offset and a batch, and stalled partitions (streams/continuity.py)."""

from __future__ import annotations

from streams.continuity import Hole, StallWatch, holes, in_offset_order, newest_offsets
from streams.processor import Record


def _batch(*positions: tuple[int, int]) -> list[Record]:
    return [Record(partition, offset, b"") for partition, offset in positions]


def test_a_batch_that_continues_its_partitions_has_no_holes() -> None:
    assert holes(_batch((0, 10), (1, 5), (0, 11), (1, 6)), {0: 9, 1: 4}) == []


def test_offsets_skipped_before_and_inside_a_batch_are_holes() -> None:
    found = holes(_batch((0, 15), (0, 16), (0, 20), (1, 3)), {0: 9, 1: 2})
    assert found == [Hole(0, 10, 15), Hole(0, 17, 20)]


def test_replays_and_redeliveries_below_the_applied_offset_are_not_holes() -> None:
    # after a crash Faust redelivers from its committed offset: older than what is applied
    assert holes(_batch((0, 5), (0, 6), (0, 6), (0, 7)), {0: 9}) == []
    assert holes(_batch((0, 5), (0, 12)), {0: 9}) == [Hole(0, 10, 12)]


def test_a_partition_without_an_applied_offset_starts_where_its_batch_starts() -> None:
    assert holes(_batch((2, 500), (2, 502)), {}) == []


def test_records_are_put_in_offset_order_per_partition_keeping_duplicates_adjacent() -> None:
    first, again = Record(0, 7, b"first"), Record(0, 7, b"again")
    ordered = in_offset_order([Record(1, 3, b""), Record(0, 8, b""), first, Record(1, 1, b""), again])
    assert [(r.partition, r.offset) for r in ordered] == [(0, 7), (0, 7), (0, 8), (1, 1), (1, 3)]
    assert ordered[0] is first and ordered[1] is again
    assert newest_offsets(ordered) == {0: 8, 1: 3}


def test_a_partition_is_stalled_only_after_lagging_without_progress_for_the_whole_period() -> None:
    watch = StallWatch(stall_s=20)
    assert not watch.stalled(0, applied=99, end=100, now=0)  # nothing waiting: never a stall
    assert not watch.stalled(0, applied=99, end=150, now=1)  # lag starts here
    assert not watch.stalled(0, applied=99, end=150, now=20)
    assert watch.stalled(0, applied=99, end=160, now=21)  # 20 s lagging, the applied offset never moved
    assert not watch.stalled(0, applied=120, end=160, now=22)  # progress restarts the clock
    assert not watch.stalled(0, applied=120, end=160, now=41)
    assert watch.stalled(0, applied=120, end=160, now=42)
    assert not watch.stalled(1, applied=5, end=9, now=42)  # partitions are judged apart


def test_caught_up_or_forgotten_partitions_start_over() -> None:
    watch = StallWatch(stall_s=20)
    watch.stalled(0, applied=10, end=50, now=0)
    assert not watch.stalled(0, applied=49, end=50, now=30)  # caught up
    assert not watch.stalled(0, applied=49, end=60, now=31)
    watch.forget([0])  # revoked
    assert not watch.stalled(0, applied=49, end=60, now=60)
