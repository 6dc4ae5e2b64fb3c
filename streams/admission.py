"""The worker's admission of schema-valid readings (the policy itself is schemas/admission.py): an event
time near its Kafka record's timestamp, and the device's own partition.

Partition: murmur2 of the device id modulo the readings topic's partitions, as every producer of the
project and Faust's table routing compute it (core/partitioning.py). A reading elsewhere would
split its device's state across partitions and workers and slip past the replay guard (which compares
offsets within the stored partition), so it is dead-lettered `wrong_partition` rather than re-routed:
re-producing it to its partition would put it behind the device's later readings there (its order is
lost) and, without a transaction, twice after a crash; the producer that keys wrongly is the bug to fix,
and the counted dead letters say which one.
"""

from __future__ import annotations

from typing import Final

from core.partitioning import partition_for
from schemas import InvalidRecord, Reading, Rejected, encode
from schemas.admission import TimeBounds, check_event_time

WRONG_PARTITION: Final = "wrong_partition"


class Admission:
    _CACHE_DEVICES = 100_000  # bounds the partition cache against a flood of made-up device ids

    def __init__(self, bounds: TimeBounds, partitions: int) -> None:
        self.bounds, self.partitions = bounds, partitions
        self._partition_of: dict[str, int] = {}

    def refuse(self, partition: int, timestamp_ms: int | None, reading: Reading, now_ms: int) -> InvalidRecord | None:
        """Why this reading, on `partition` in a record stamped `timestamp_ms`, must not be applied; None if
        it may. Without a record timestamp the worker's own clock is the reference."""
        misplaced = self.misplaced(reading.device_id, partition)
        if misplaced is not None:
            return misplaced
        try:
            check_event_time(reading.ts, now_ms if timestamp_ms is None else timestamp_ms, self.bounds)
        except InvalidRecord as error:
            return error
        return None

    def misplaced(self, device_id: str, partition: int) -> InvalidRecord | None:
        """Why a record of this device must not be applied on `partition` (None when it is the device's own).
        Also for the events topic, which has the readings' partition count: a label elsewhere would slip past
        its device's replay guard and be learned again after a crash."""
        expected = self._partition(device_id)
        if expected == partition:
            return None
        return InvalidRecord(
            WRONG_PARTITION,
            f"device {device_id} belongs to partition {expected} of {self.partitions}, not "
            f"{partition}: key its messages by device_id with murmur2 (core/partitioning.py)",
        )

    def _partition(self, device_id: str) -> int:
        partition = self._partition_of.get(device_id)
        if partition is None:
            if len(self._partition_of) >= self._CACHE_DEVICES:
                self._partition_of.clear()
            partition = self._partition_of[device_id] = partition_for(device_id.encode(), self.partitions)
        return partition


def refused_part(
    value: bytes, element: int, reading: Reading, rejected: list[Rejected], error: InvalidRecord
) -> Rejected:
    """A refused reading as the part of its message to dead-letter: the whole message for a single reading,
    else the envelope element, with its position in the array (the `element`-th of the valid ones)."""
    if value.lstrip()[:1] != b"[":
        return Rejected(None, value, error)
    invalid = {part.index for part in rejected}
    position = [i for i in range(element + len(invalid) + 1) if i not in invalid][element]
    return Rejected(position, encode(reading), error)
