"""The scoring seam: per device and batch, `open` the scorer's state from the device's table value, `score`
each validated reading with its window/liveness context, `close` the state back to bytes (stored in the
same DeviceState, so it shares the replay guard and moves with the partition).

Two scorers, chosen by `worker_scorer`:
- `ModelScorer` (default): the per-device River failure model (streams/model/), warm-started from its
  type's fleet prior, taught by failure labels and feedback (`learn`).
- `BaselineScorer`: the stateless warning→critical rule (streams/baseline.py), a documented fallback and
  the evaluation baseline. It leaves a device's stored model bytes untouched, so switching back keeps them.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from schemas import Reading, Score
from schemas.events import FailureLabel, Feedback
from streams import baseline
from streams.liveness import Live
from streams.model.detector import MODEL_NAME
from streams.model.service import ModelService
from streams.windows import WindowState


class DeviceContext(NamedTuple):
    windows: WindowState  # 1-min buckets, open and recently closed; `.current(i)` = last 5 min
    live: Live  # last seen, learned cadence, liveness state
    readings: int  # readings applied for this device so far


class Scorer(Protocol):
    name: str

    def open(self, device_type: str, raw: bytes) -> Any: ...

    def score(self, handle: Any, reading: Reading, context: DeviceContext, now_ms: int | None) -> Score: ...

    def close(self, handle: Any) -> bytes: ...

    def learn(self, handle: Any, event: FailureLabel | Feedback) -> bool: ...


class BaselineScorer:
    name = baseline.MODEL

    def open(self, device_type: str, raw: bytes) -> bytes:
        return raw  # nothing to load; kept so close() gives the stored bytes back unchanged

    def score(self, handle: bytes, reading: Reading, context: DeviceContext, now_ms: int | None) -> Score:
        return baseline.score(reading, now_ms)

    def close(self, handle: bytes) -> bytes:
        return handle

    def learn(self, handle: bytes, event: FailureLabel | Feedback) -> bool:
        return False  # a fixed rule learns nothing


class ModelScorer:
    def __init__(self, service: ModelService | None = None) -> None:
        self.service = service or ModelService()
        self.name = MODEL_NAME

    def open(self, device_type: str, raw: bytes) -> Any:
        return self.service.open(device_type, raw or None)

    def score(self, handle: Any, reading: Reading, context: DeviceContext, now_ms: int | None) -> Score:
        return self.service.score(handle, reading, now_ms)[0]

    def close(self, handle: Any) -> bytes:
        return self.service.close(handle)

    def learn(self, handle: Any, event: FailureLabel | Feedback) -> bool:
        return self.service.learn(handle, event)


def make_scorer(kind: str) -> Scorer:
    if kind == "baseline":
        return BaselineScorer()
    if kind == "model":
        return ModelScorer()
    raise ValueError(f"unknown scorer {kind!r}: expected 'model' or 'baseline'")


def score_reading(reading: Reading, context: DeviceContext, now_ms: int | None = None) -> Score:
    """The stateless baseline score of one reading (kept for callers that need no device state)."""
    return baseline.score(reading, now_ms)
