"""fleetpulse.device-events.v1: what happened to a device, as opposed to what it measured. Key: device_id.

One topic, four kinds, a tagged union on `kind`:
- `lifecycle`: a device started or stopped reporting on purpose (simulator, control API, agent).
- `liveness`: the streams engine saw a device's reporting change (on_time → late → silent → dead).
- `failure_label`: ground truth from the simulator: which mode, when it began (onset) and when the
  device failed, so detection lead time = failure_ts - first alert ts can be measured.
- `feedback`: a person said an alert was right or wrong.

Free-text-ish values that will grow (failure modes, sources) are constrained strings rather than enums,
so an old consumer keeps reading records that name a mode it has not heard of (evolution rule 1).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from schemas.readings import DeviceId, DeviceType, EpochMillis

Label = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
Version = Annotated[int, Meta(ge=1, description="minor versions only add optional fields")]

# The modes the simulator knows today (documented in producers/failure_modes.py); not an enum on purpose.
FAILURE_MODES = (
    "fan_failure",
    "thermal_paste",
    "undervoltage",
    "overload",
    "stuck_sensor",
    "silent_death",
    "flapping_connectivity",
)
LivenessState = Literal["on_time", "late", "silent", "dead"]


class Lifecycle(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="kind", tag="lifecycle"):
    schema_version: Version = 1
    device_id: DeviceId
    ts: EpochMillis
    action: Literal["started", "stopped"]
    device_type: DeviceType | None = None
    source: Label | None = None  # simulator, control_api, agent, ingest
    reason: str | None = None


class Liveness(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="kind", tag="liveness"):
    """A transition of a device's reporting state, emitted by the streams engine when it changes."""

    schema_version: Version = 1
    device_id: DeviceId
    ts: EpochMillis  # when the transition was decided (event time of the engine's clock)
    state: LivenessState
    previous_state: LivenessState | None = None
    last_seen_ts: EpochMillis | None = None  # event time of the device's newest reading
    expected_interval_ms: Annotated[int, Meta(gt=0)] | None = None


class FailureLabel(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="kind", tag="failure_label"
):
    """Ground truth. Emitted when the device fails (ts == failure_ts), never before, so a consumer that
    reads it live cannot peek at the future."""

    schema_version: Version = 1
    device_id: DeviceId
    ts: EpochMillis
    mode: Label
    onset_ts: EpochMillis  # first reading affected by the mode
    failure_ts: EpochMillis  # the device stopped working (failed or went silent)
    detectable: bool = True  # False when sensor data cannot show it in advance (silent_death)
    injected: bool = False  # True when a person injected it through the control API


class Feedback(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="kind", tag="feedback"):
    schema_version: Version = 1
    device_id: DeviceId
    ts: EpochMillis  # when the verdict was given
    alert_ts: EpochMillis  # event time of the alert it judges
    verdict: Literal["right", "wrong"]
    mode: Label | None = None  # what it really was, when known
    user: str | None = None
    note: str | None = None


DeviceEvent = Lifecycle | Liveness | FailureLabel | Feedback
