"""Decoded values kept between batches beside the exact bytes they were decoded from (or encoded to): device
models (streams.scoring) and the processor's device states. Its own module so that the processor's compiled
group holds it (streams/native.py): it runs twice per device and batch.
"""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")  # what the value was decoded from: its bytes, or the bytes and what goes with them
T = TypeVar("T")


class Decoded(Generic[K, T]):
    """Per device, what was decoded from (or encoded to) its stored bytes, kept between batches with those
    exact bytes: device models (decoding an envelope cost as much as scoring with it, profiled) and the
    processor's device states. An entry is reused only when the table still holds those same bytes, so
    whatever changed the state elsewhere (a restart, a rebalance that brought an older or newer value, a
    label learned, a liveness sweep) is decoded afresh. An entry is taken out while a batch uses it, so a
    batch that fails half-way leaves nothing half-updated behind."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._kept: dict[str, tuple[K, T]] = {}  # insertion order = least recently stored first
        self.hits = self.misses = 0

    def take(self, device_id: str, raw: K) -> T | None:
        entry = self._kept.pop(device_id, None)
        if entry is not None and entry[0] == raw:
            self.hits += 1
            return entry[1]
        self.misses += 1
        return None

    def put(self, device_id: str, raw: K, value: T) -> None:
        if self.capacity <= 0:
            return
        self._kept[device_id] = (raw, value)
        if len(self._kept) > self.capacity:
            del self._kept[next(iter(self._kept))]

    def __len__(self) -> int:
        return len(self._kept)
