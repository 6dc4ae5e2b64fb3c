"""The scoring seam: per device and batch, `open` the scorer's state from the device's DeviceState, `score`
each validated reading with its window/liveness context, `close` the state back into the DeviceState (so it
shares the replay guard and moves with the partition).

Two scorers, chosen by `worker_scorer`:
- `ModelScorer` (default): the per-device River failure model (streams/model/), warm-started from its
  type's fleet prior, taught by failure labels and feedback (`learn`).
- `BaselineScorer`: the stateless warning→critical rule (streams/baseline.py), a documented fallback and
  the evaluation baseline. It leaves a device's stored model bytes untouched, so switching back keeps them.
"""

from __future__ import annotations

from typing import Any, Protocol

from schemas import Reading, Score
from schemas.events import FailureLabel, Feedback
from streams import baseline
from streams.decoded import Decoded
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

    def open(self, device_id: str, state: DeviceState) -> Any: ...

    def score(self, handle: Any, reading: Reading, context: DeviceContext, now_ms: int | None) -> Score: ...

    def close(self, device_id: str, handle: Any, state: DeviceState) -> None: ...

    def learn(self, handle: Any, event: FailureLabel | Feedback) -> bool: ...


class BaselineScorer:
    name = baseline.MODEL

    def open(self, device_id: str, state: DeviceState) -> None:
        return None  # nothing to load; the state's model fields stay as they are, so switching back keeps them

    def score(self, handle: None, reading: Reading, context: DeviceContext, now_ms: int | None) -> Score:
        return baseline.score(reading, now_ms)

    def close(self, device_id: str, handle: None, state: DeviceState) -> None:
        pass

    def learn(self, handle: None, event: FailureLabel | Feedback) -> bool:
        return False  # a fixed rule learns nothing


CHECKPOINT_READINGS = 16


class OpenModel:
    """A device's model while a batch uses it, with the readings it learned since its stored envelope and
    whether close() must store a new envelope regardless (restored afresh, or taught a label)."""

    __slots__ = ("model", "pending", "store")

    def __init__(self, model: DeviceModel, pending: list[bytes], store: bool) -> None:
        self.model, self.pending, self.store = model, pending, store


class ModelScorer:
    """The device's model is its stored envelope (`model_state`) plus the readings learned since
    (`model_pending`), both in one DeviceState value. Encoding an envelope costs about a reading's scoring
    (~11 us, 8 KB), so a model kept decoded between batches stores a new envelope only once
    `checkpoint_readings` readings are pending; the state carries their inputs (~70 B each) meanwhile. A model
    restored from bytes (a restart, a rebalance, a device the cache evicted) replays them, so it is the same
    model bit for bit, and stores a new envelope at once: a device that misses the cache once likely misses
    it again, and then each batch would replay its pending readings. `checkpoint_readings` 1: every batch."""

    def __init__(
        self,
        service: ModelService | None = None,
        cached_devices: int = 0,
        checkpoint_readings: int = CHECKPOINT_READINGS,
    ) -> None:
        self.service = service or ModelService()
        self.name = MODEL_NAME
        self.checkpoint_readings = checkpoint_readings
        self.decoded: Decoded[tuple[bytes, list[bytes]], DeviceModel] = Decoded(cached_devices)

    def open(self, device_id: str, state: DeviceState) -> OpenModel:
        raw, pending = state.model_state, state.model_pending
        model = self.decoded.take(device_id, (raw, pending)) if raw else None
        if model is not None and model.device_type == state.device_type:
            return OpenModel(model, list(pending), False)
        return OpenModel(self.service.restore(state.device_type, raw or None, pending), [], True)

    def score(self, handle: OpenModel, reading: Reading, context: DeviceContext, now_ms: int | None) -> Score:
        if not handle.store:  # a model that stores its envelope at close keeps no pending readings
            handle.pending.append(self.service.input_of(reading))
        return self.service.score(handle.model, reading, now_ms)[0]

    def close(self, device_id: str, handle: OpenModel, state: DeviceState) -> None:
        if handle.store or len(handle.pending) >= self.checkpoint_readings:
            state.model_state, state.model_pending = self.service.close(handle.model), []
        else:
            state.model_pending = handle.pending
            self.service.count_scored()
        self.decoded.put(device_id, (state.model_state, state.model_pending), handle.model)

    def learn(self, handle: OpenModel, event: FailureLabel | Feedback) -> bool:
        handle.store = True  # a label is not in the readings' inputs: only a new envelope keeps what it taught
        return self.service.learn(handle.model, event)


def make_scorer(kind: str, cached_devices: int = 0, checkpoint_readings: int = CHECKPOINT_READINGS) -> Scorer:
    if kind == "baseline":
        return BaselineScorer()
    if kind == "model":
        return ModelScorer(cached_devices=cached_devices, checkpoint_readings=checkpoint_readings)
    raise ValueError(f"unknown scorer {kind!r}: expected 'model' or 'baseline'")
