"""fleetpulse.scores.v1: a failure score in [0, 1] for one reading of one device. Key: device_id."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from msgspec import Meta

from schemas.readings import MAX_INT64, DeviceId, EpochMillis

Probability = Annotated[float, Meta(ge=0.0, le=1.0)]
# The one operating threshold: the failure model alerts at it, Grafana's and Prometheus' device alerts fire
# above it, and every evaluation reports at it. Scores are continuous, so > and >= mean the same here.
ALERT_THRESHOLD: Final = 0.7


class Reason(msgspec.Struct, frozen=True, kw_only=True):
    sensor: str
    value: float
    contribution: Probability
    detail: str


class Score(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    schema_version: Annotated[int, Meta(ge=1)] = 1
    device_id: DeviceId
    ts: EpochMillis
    seq: Annotated[int, Meta(ge=0, le=MAX_INT64)]
    score: Probability
    model: str
    reasons: list[Reason] = []
    scored_at: EpochMillis
    # v1.1, optional (the model fills them; the baseline leaves them out)
    warming_up: bool | None = None  # the device's model is still learning its normal: low confidence
    time_to_limit_s: Annotated[float, Meta(ge=0.0)] | None = None  # trend-extrapolated seconds to a critical limit
    drift: bool | None = None  # this reading triggered a debounced concept-drift detection
