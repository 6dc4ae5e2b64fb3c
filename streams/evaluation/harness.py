"""The production scoring path, in-process: every evaluation scores through `ModelService` as the worker does.

Per batch, each device's model is opened from the envelope bytes it was stored as (as from the device
table's changelog), scores its readings, and is closed back to bytes; labels are taught through
`ModelService.learn`; now and then the stored models are aggregated into per-type fleet priors, merged
and handed to `set_prior`, so devices that appear later start from their type's prior. Nothing here
keeps a model alive between batches except as bytes.
"""

from __future__ import annotations

from schemas import Score
from schemas.events import FailureLabel, Feedback
from streams.model import envelope, federated
from streams.model.detector import DeviceModel
from streams.model.service import ModelService


class ServiceFleet:
    def __init__(self, sensors: dict[str, tuple[str, ...]] | None = None) -> None:
        """`sensors`: per device type, its sensor names when they are not the product's."""
        self.service = ModelService()
        self.sensors = sensors or {}
        self.stored: dict[str, tuple[str, bytes]] = {}  # device -> (device type, envelope bytes)
        self.open: dict[str, DeviceModel] = {}  # the current batch's models
        self.seq: dict[str, int] = {}

    def _model(self, device_id: str, device_type: str) -> DeviceModel:
        model = self.open.get(device_id)
        if model is None:
            stored = self.stored.get(device_id)
            raw = stored[1] if stored is not None else None
            model = self.open[device_id] = self.service.open(device_type, raw, self.sensors.get(device_type))
        return model

    def score(
        self, device_id: str, device_type: str, ts: int, values: dict[str, float | None], throttled: int | None = None
    ) -> Score:
        model = self._model(device_id, device_type)
        seq = self.seq[device_id] = self.seq.get(device_id, -1) + 1
        return self.service.score_values(model, device_id, ts, seq, values, throttled, now_ms=ts)[0]

    def learn(self, device_id: str, event: FailureLabel | Feedback) -> bool:
        stored = self.stored.get(device_id)
        if stored is None and device_id not in self.open:
            return False
        device_type = stored[0] if stored is not None else self.open[device_id].device_type or ""
        return self.service.learn(self._model(device_id, device_type), event)

    def end_batch(self) -> None:
        """Close every open model to bytes, as the worker stores them at the end of a batch."""
        for device_id, model in self.open.items():
            self.stored[device_id] = (model.device_type or "", self.service.close(model))
        self.open.clear()

    def publish_priors(self) -> int:
        """Aggregate the stored models into one prior per type, merge them as the workers' would be merged,
        and hand them to the service; the number of priors set."""
        self.end_batch()
        models = [m for _, raw in self.stored.values() if (m := envelope.load(raw)) is not None]
        priors = self.service.aggregate(models)
        for prior in priors:
            self.service.set_prior(federated.merge_priors([prior]))
        return len(priors)
