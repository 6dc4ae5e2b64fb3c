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

from typing import Any, Generic, Protocol, TypeVar

from schemas import Reading, Score
from schemas.events import FailureLabel, Feedback
from streams import baseline
from streams.liveness import Live
from streams.model.detector import MODEL_NAME, DeviceModel
from streams.model.service import ModelService
from streams.state import DeviceState
from streams.windows import WindowState


class DeviceContext:
    """What a scorer may know of the device beyond the reading; one per device and batch, not per reading."""

    __slots__ = ("live", "state", "windows")

    def __init__(self, windows: WindowState, live: Live, state: DeviceState) -> None:
        self.windows = windows  # 1-min buckets, open and recently closed; `.current(i)` = last 5 min
        self.live = live  # last seen, learned cadence, liveness state
        self.state = state

    @property
    def readings(self) -> int:
        """Readings applied for this device so far."""
        return self.state.readings


class Scorer(Protocol):
    name: str

    def open(self, device_id: str, device_type: str, raw: bytes) -> Any: ...

    def score(self, handle: Any, reading: Reading, context: DeviceContext, now_ms: int | None) -> Score: ...

    def close(self, device_id: str, handle: Any) -> bytes: ...

    def learn(self, handle: Any, event: FailureLabel | Feedback) -> bool: ...


class BaselineScorer:
    name = baseline.MODEL

    def open(self, device_id: str, device_type: str, raw: bytes) -> bytes:
        return raw  # nothing to load; kept so close() gives the stored bytes back unchanged

    def score(self, handle: bytes, reading: Reading, context: DeviceContext, now_ms: int | None) -> Score:
        return baseline.score(reading, now_ms)

    def close(self, device_id: str, handle: bytes) -> bytes:
        return handle

    def learn(self, handle: bytes, event: FailureLabel | Feedback) -> bool:
        return False  # a fixed rule learns nothing


T = TypeVar("T")


class Decoded(Generic[T]):
    """Per device, what was decoded from (or encoded to) its stored bytes, kept between batches with those
    exact bytes: device models (decoding an envelope cost as much as scoring with it, profiled) and the
    processor's device states. An entry is reused only when the table still holds those same bytes, so
    whatever changed the state elsewhere (a restart, a rebalance that brought an older or newer value, a
    label learned, a liveness sweep) is decoded afresh. An entry is taken out while a batch uses it, so a
    batch that fails half-way leaves nothing half-updated behind."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._kept: dict[str, tuple[bytes, T]] = {}  # insertion order = least recently stored first
        self.hits = self.misses = 0

    def take(self, device_id: str, raw: bytes) -> T | None:
        entry = self._kept.pop(device_id, None)
        if entry is not None and entry[0] == raw:
            self.hits += 1
            return entry[1]
        self.misses += 1
        return None

    def put(self, device_id: str, raw: bytes, value: T) -> None:
        if self.capacity <= 0:
            return
        self._kept[device_id] = (raw, value)
        if len(self._kept) > self.capacity:
            del self._kept[next(iter(self._kept))]

    def __len__(self) -> int:
        return len(self._kept)


class ModelScorer:
    def __init__(self, service: ModelService | None = None, cached_devices: int = 0) -> None:
        self.service = service or ModelService()
        self.name = MODEL_NAME
        self.decoded: Decoded[DeviceModel] = Decoded(cached_devices)

    def open(self, device_id: str, device_type: str, raw: bytes) -> Any:
        model = self.decoded.take(device_id, raw) if raw else None
        if model is not None and model.device_type == device_type:
            return model
        return self.service.open(device_type, raw or None)

    def score(self, handle: Any, reading: Reading, context: DeviceContext, now_ms: int | None) -> Score:
        return self.service.score(handle, reading, now_ms)[0]

    def close(self, device_id: str, handle: Any) -> bytes:
        raw = self.service.close(handle)
        self.decoded.put(device_id, raw, handle)
        return raw

    def learn(self, handle: Any, event: FailureLabel | Feedback) -> bool:
        return self.service.learn(handle, event)


def make_scorer(kind: str, cached_devices: int = 0) -> Scorer:
    if kind == "baseline":
        return BaselineScorer()
    if kind == "model":
        return ModelScorer(cached_devices=cached_devices)
    raise ValueError(f"unknown scorer {kind!r}: expected 'model' or 'baseline'")
