"""Every offset of an input partition gets applied, even when Faust never delivers it.

Across a rebalance Faust can commit a partition's offset past messages it had fetched but dropped from
its buffers (faust-streaming#312); the next owner starts after them, and the per-device replay guard
cannot notice readings it never received. So the worker keeps, per input partition (readings and events),
the newest offset applied with every offset below it applied too (the `applied-offsets` table,
changelog-backed and co-partitioned with the inputs, so it moves with the partition). A batch that leaves
a hole above that offset is completed by reading the hole from Kafka directly, then processed in offset
order.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from operator import itemgetter
from typing import NamedTuple

from confluent_kafka import TopicPartition

from core.kafka.consumer import reader
from core.settings import Settings
from streams.processor import Record

log = logging.getLogger(__name__)


class Hole(NamedTuple):
    """Offsets [first, end) of one partition that were never delivered."""

    partition: int
    first: int
    end: int


class HoleReadError(RuntimeError):
    """A hole could not be read back from Kafka; the batch must not be applied without it."""


def holes(batch: Iterable[Record], applied: dict[int, int]) -> list[Hole]:
    """The offsets missing between each partition's applied offset and the batch's records of it (before
    and between them). A partition with no applied offset yet has nothing to be contiguous with."""
    found = []
    for partition, offsets in _offsets_by_partition(batch).items():
        expected = applied.get(partition)
        if expected is None:
            continue
        expected += 1
        for offset in offsets:
            if offset > expected:
                found.append(Hole(partition, expected, offset))
            expected = max(expected, offset + 1)
    return found


def in_offset_order(batch: Iterable[Record]) -> list[Record]:
    """Records ordered by (partition, offset): a device's readings must be applied oldest first, or the
    replay guard would take an older reading read back from a hole for a replay. Stable, so a message
    redelivered within the batch stays beside its first copy."""
    return sorted(batch, key=_POSITION)


_POSITION = itemgetter(0, 1)  # a Record's (partition, offset)


def newest_offsets(batch: Iterable[Record]) -> dict[int, int]:
    newest: dict[int, int] = {}
    for record in batch:
        if record.offset > newest.get(record.partition, -1):
            newest[record.partition] = record.offset
    return newest


def _offsets_by_partition(batch: Iterable[Record]) -> dict[int, list[int]]:
    by_partition: dict[int, list[int]] = defaultdict(list)
    for record in batch:
        by_partition[record.partition].append(record.offset)
    return {partition: sorted(offsets) for partition, offsets in by_partition.items()}


class HoleReader:
    """Reads given offsets of a topic with a group-less assignment (it never commits)."""

    def __init__(self, settings: Settings, timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s
        # earliest: a hole already deleted by retention reads what is left
        self._consumer = reader(settings, f"{settings.worker_app_id}-hole-reader", **{"auto.offset.reset": "earliest"})

    def read(self, topic: str, hole: Hole) -> list[Record]:
        """Blocking: every record still in Kafka at the hole's offsets."""
        self._consumer.assign([TopicPartition(topic, hole.partition, hole.first)])
        records: list[Record] = []
        deadline = time.monotonic() + self.timeout_s
        try:
            while time.monotonic() < deadline:
                message = self._consumer.poll(0.5)
                if message is not None and message.error() is None:
                    if message.offset() >= hole.end:
                        return records
                    _kind, timestamp_ms = message.timestamp()
                    records.append(
                        Record(hole.partition, message.offset(), message.value() or b"", message.key(), timestamp_ms)
                    )
                    if message.offset() == hole.end - 1:
                        return records
                (position,) = self._consumer.position([TopicPartition(topic, hole.partition)])
                if position.offset >= hole.end:  # past the hole (offsets without records: markers, retention)
                    return records
        finally:
            self._consumer.unassign()
        raise HoleReadError(
            f"{topic} partition {hole.partition} offsets {hole.first}..{hole.end - 1}: "
            f"{len(records)} records read back within {self.timeout_s:.0f} s"
        )

    def end_offset(self, topic: str, partition: int) -> int:
        """Blocking: the partition's next offset to be written (its high watermark)."""
        _, high = self._consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10, cached=False)
        return int(high)


class StallWatch:
    """Notices a partition Faust stopped delivering: records wait beyond its applied offset and the offset
    has not moved for `stall_s`. (Seen here after a rebalance under load: one partition never delivered
    again while the others flowed.) Lag that keeps shrinking, or none, is never a stall."""

    def __init__(self, stall_s: float) -> None:
        self.stall_s = stall_s
        self._since: dict[int, tuple[int, float]] = {}  # partition -> (applied offset, lagging since)

    def stalled(self, partition: int, applied: int, end: int, now: float) -> bool:
        if end - 1 <= applied:
            self._since.pop(partition, None)
            return False
        seen = self._since.get(partition)
        if seen is None or seen[0] != applied:
            self._since[partition] = (applied, now)
            return False
        return now - seen[1] >= self.stall_s

    def forget(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            self._since.pop(partition, None)
