"""The storage policy: which of the worker's outputs go to the store-bound topics the DynamoDB sinks read.

The full streams stay on their own topics (every score on the scores topic, every window on the stats
topic); DynamoDB gets:

- one window row per device and closed 1-minute window, all sensors in one item (mean/min/max/last/std/
  slope and count per sensor), which is what the API answers time ranges from when raw readings are off;
- under the aggregated policy, a score only when it matters: the device's first, one that crosses an alert
  band (the API's warning and critical levels and the model's alert threshold), a liveness change, a drift
  detection, one that moved at least `delta` from the stored one while either is at or above `floor`, and
  otherwise one per heartbeat of event time. Below the floor (the API's warning level) a score is noise by
  construction: the model's scores are calibrated, 0.3 happens once in ~19 readings of a healthy device, so
  a delta there would store every flicker twice (up and back). No flicker is lost: every stored record
  carries the highest score since the previous one (`peak_score`, `peak_ts`). The status sink reads the
  same records, so the status row follows the same rule and always names a score in the scores table.

What was stored last lives in the device's state (`DeviceState.stored_*`), so the decisions move with the
partition, and a replayed reading (skipped by the replay guard) cannot store anything twice.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from typing import Any, Final

import msgspec

from schemas import Score
from streams.liveness import STATES
from streams.state import DeviceState
from streams.windows import BUCKET_MS, Stats

# The API's warning and critical levels (api.store) and the model's alert threshold (streams.model.detector).
ALERT_BANDS = (0.5, 0.7, 0.8)  # not Final: mypyc (2.4.1) leaves a Final tuple of floats unset
SIGNIFICANT_DIGITS: Final = 6  # window statistics are rounded so a row of six sensors stays within one 1 KB write unit

_json: Final = msgspec.json.Encoder()


def alert_band(score: float) -> int:
    return bisect_right(ALERT_BANDS, score)


class StoragePolicy:
    """Decides per score whether it is stored; `select_scores=False` stores every one (keep everything),
    in which case the score sinks read the full scores topic and nothing is sent to the store topic."""

    def __init__(
        self, select_scores: bool, delta: float = 0.1, floor: float = 0.5, heartbeat_ms: int = 300_000
    ) -> None:
        self.select_scores = select_scores
        self.delta = delta
        self.floor = floor
        self.heartbeat_ms = heartbeat_ms

    @classmethod
    def from_settings(cls, settings: Any) -> StoragePolicy:
        return cls(
            select_scores=settings.storage_policy == "aggregated",
            delta=settings.storage_score_delta,
            floor=settings.storage_score_floor,
            heartbeat_ms=int(settings.storage_heartbeat_seconds * 1000),
        )

    def matters(self, state: DeviceState, score: Score, liveness: int) -> bool:
        if state.stored_ts < 0:
            return True
        value, stored = score.score, state.stored_score
        return (
            alert_band(value) != alert_band(stored)
            or liveness != state.stored_liveness
            or score.ts - state.stored_ts >= self.heartbeat_ms
            or bool(score.drift)
            or (abs(value - stored) >= self.delta and max(value, stored) >= self.floor)
        )

    def keep(self, state: DeviceState, score: Score, liveness: int) -> bytes | None:
        """The store-bound record of `score` if the policy stores it (and remember that it did), else None."""
        if state.peak_ts < 0 or score.score > state.peak_score:
            state.peak_score, state.peak_ts = score.score, score.ts
        if not self.matters(state, score, liveness):
            return None
        record = score_record(score, liveness, state.peak_score, state.peak_ts)
        state.stored_score, state.stored_ts, state.stored_liveness = score.score, score.ts, liveness
        state.peak_score, state.peak_ts = -1.0, -1
        return record


def score_record(score: Score, liveness: int, peak_score: float | None = None, peak_ts: int | None = None) -> bytes:
    """The score as on the scores topic plus the worker's liveness verdict at that time (for the status row)
    and the highest score since the previous stored record."""
    extra: dict[str, Any] = {"liveness": STATES[liveness]}
    if peak_ts is not None and peak_ts >= 0:
        extra |= {"peak_score": peak_score, "peak_ts": peak_ts}
    return _json.encode(msgspec.to_builtins(score) | extra)


_SIGNIFICANT: Final = f"%.{SIGNIFICANT_DIGITS}g"  # a constant format: cheaper than an f-string's nested spec


def _round(value: float) -> float:
    return float(_SIGNIFICANT % value)


def window_row(device_id: str, device_type: str, start: int, by_sensor: dict[str, Stats]) -> bytes:
    stats = {
        sensor: {
            "n": s.count,
            "mean": _round(s.mean),
            "min": _round(s.min),
            "max": _round(s.max),
            "last": _round(s.last),
            "std": _round(s.std),
            "slope": _round(s.slope_per_s),
        }
        for sensor, s in by_sensor.items()
    }
    row = {"device_id": device_id, "ts": start, "end": start + BUCKET_MS, "device_type": device_type}
    return _json.encode(row | {"stats": stats})


def window_rows(key: bytes, device_id: str, device_type: str, closed: Iterable[Any]) -> list[tuple[bytes, bytes]]:
    """One row per closed 1-minute window of one device, from the per-sensor windows `close()` gave."""
    by_start: dict[int, dict[str, Stats]] = {}
    for start, _end, sensor, stats in closed:
        by_start.setdefault(start, {})[sensor] = stats
    return [(key, window_row(device_id, device_type, start, sensors)) for start, sensors in by_start.items()]
