"""Device liveness, framework-free: a learned reporting cadence per device and a state decided by a sweep.

Clock choice (documented in the README): liveness runs on EVENT time, on one clock per partition: the
lower median of its devices' newest event times, advanced by wall time x `rate` while that stands still.
Per partition, because partitions progress at different speeds (a backlog after a failover must not
make its devices look silent next to a partition that is caught up). So with the simulator's
--speedup S (and rate S) a "10 min silent" device is 10 simulated minutes silent, a replayed backlog is
judged by its own timestamps, and when the whole fleet stops the clock still moves and devices go silent.

States (age = clock - last event time): on_time; late when age > late_factor x cadence (cadence = EWMA of
inter-arrival event-time gaps); silent when age > silent_after; dead when age > dead_after. A reading
brings a device back to on_time at the next sweep; every change is one transition event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from core.settings import Settings

STATES: Final[tuple[str, ...]] = ("on_time", "late", "silent", "dead")
ON_TIME, LATE, SILENT, DEAD = range(4)
EWMA_ALPHA: Final = 0.2  # weight of the newest gap: adapts within ~5 reports, smooths jitter


class LivenessConfig(NamedTuple):
    late_factor: float = 3.0
    silent_after_ms: int = 600_000
    dead_after_ms: int = 3_600_000

    @classmethod
    def of(cls, settings: Settings) -> LivenessConfig:
        """The worker's thresholds; the query API judges with the same ones (one view of liveness)."""
        return cls(
            late_factor=settings.worker_late_factor,
            silent_after_ms=int(settings.worker_silent_seconds * 1000),
            dead_after_ms=int(settings.worker_dead_seconds * 1000),
        )


class EventClock:
    """Newest event time seen, extrapolated by wall time x rate since it was seen."""

    def __init__(self, rate: float = 1.0, wall: Callable[[], float] = time.time) -> None:
        self.rate = rate
        self._wall = wall
        self.max_ts = -1
        self._wall_at = 0.0

    def observe(self, ts_ms: int) -> None:
        if ts_ms > self.now_ms():
            self.max_ts = ts_ms
            self._wall_at = self._wall()

    def now_ms(self) -> int:
        if self.max_ts < 0:
            return -1
        return self.max_ts + int((self._wall() - self._wall_at) * 1000 * self.rate)


class PartitionClocks:
    """One EventClock per partition; a device is judged by its own partition's clock.

    A partition's clock follows the lower median of its devices' newest event times (and wall time x rate
    while that median stands still), not the newest event time of any one device: no single device (a
    wrong clock, a poisoned reading admission let through, a stored state from before admission) can move
    the time its neighbours are judged by; moving it takes half of the partition's devices.
    """

    def __init__(self, rate: float = 1.0, wall: Callable[[], float] = time.time) -> None:
        self.rate, self._wall = rate, wall
        self.clocks: dict[int, EventClock] = {}
        self._newest: dict[int, dict[str, int]] = {}  # partition -> device -> newest event time
        self._stale: set[int] = set()  # partitions whose devices advanced since their clock was settled

    def observe(self, partition: int, ts_ms: int, device_id: str = "") -> None:
        """A reading of `device_id` (or, without one, a partition-wide time) at event time ts_ms."""
        devices = self._newest.get(partition)
        if devices is None:
            devices = self._newest[partition] = {}
            self.clocks[partition] = EventClock(self.rate, self._wall)
        if ts_ms > devices.get(device_id, -1):
            devices[device_id] = ts_ms
            self._stale.add(partition)

    def forget(self, partition: int) -> None:
        """This worker no longer owns the partition."""
        self.clocks.pop(partition, None)
        self._newest.pop(partition, None)
        self._stale.discard(partition)

    def _settle(self) -> None:
        for partition in self._stale:
            newest = sorted(self._newest[partition].values())
            self.clocks[partition].observe(newest[(len(newest) - 1) // 2])
        self._stale.clear()

    def now(self) -> dict[int, int]:
        self._settle()
        return {partition: clock.now_ms() for partition, clock in self.clocks.items()}

    def now_ms(self, partition: int) -> int:
        self._settle()
        clock = self.clocks.get(partition)
        return clock.now_ms() if clock is not None else -1


class Live:
    """One device's liveness; small and mutable, kept in memory and in the device's table value."""

    __slots__ = ("cadence_ms", "first_seen", "last_seen", "partition", "since", "state")

    def __init__(
        self,
        partition: int,
        first_seen: int,
        last_seen: int,
        cadence_ms: float | int = 0.0,
        state: int = ON_TIME,
        since: int = 0,
    ) -> None:
        self.partition = partition
        self.first_seen = first_seen
        self.last_seen = last_seen
        # int until a second gap is blended in, and stored so (the state's bytes): typed float, compiled code
        # would make it a float
        self.cadence_ms: float | int = cadence_ms
        self.state = state
        self.since = since

    def observe(self, ts_ms: int) -> None:
        """A reading with event time ts_ms arrived; learn the cadence from forward gaps only."""
        gap = ts_ms - self.last_seen
        if gap > 0:
            self.cadence_ms = gap if self.cadence_ms <= 0 else self.cadence_ms + EWMA_ALPHA * (gap - self.cadence_ms)
            self.last_seen = ts_ms
        if ts_ms < self.first_seen:
            self.first_seen = ts_ms


def classify(age_ms: int, cadence_ms: float, config: LivenessConfig) -> int:
    if age_ms > config.dead_after_ms:
        return DEAD
    if age_ms > config.silent_after_ms:
        return SILENT
    if cadence_ms > 0 and age_ms > config.late_factor * cadence_ms:
        return LATE
    return ON_TIME


class Transition(NamedTuple):
    device_id: str
    at_ms: int
    previous: int
    state: int
    live: Live


def sweep(devices: dict[str, Live], now: int | Mapping[int, int], config: LivenessConfig) -> list[Transition]:
    """Re-decide every device's state at its partition's clock time (or one time for all); return (and
    apply) the changes. Devices of a partition without a clock yet are left alone."""
    changes = []
    for device_id, live in devices.items():
        now_ms = now if isinstance(now, int) else now.get(live.partition, -1)
        if now_ms < 0:
            continue
        state = classify(now_ms - live.last_seen, live.cadence_ms, config)
        if state != live.state:
            changes.append(Transition(device_id, now_ms, live.state, state, live))
            live.state, live.since = state, now_ms
    return changes
