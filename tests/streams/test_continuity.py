"""Hole detection between a partition's applied offset and a batch (streams/continuity.py)."""

from __future__ import annotations

from streams.continuity import Hole, holes, in_offset_order, newest_offsets
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
