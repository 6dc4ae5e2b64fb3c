"""fleetpulse.window-stats.v1: one sensor of one device summarised over an event-time window. Key: device_id.

Emitted by the streams engine; the ML features and dashboards read it instead of raw readings.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from schemas.readings import DeviceId, DeviceType, EpochMillis
from schemas.units import SENSORS

SensorName = Annotated[str, Meta(pattern=r"^[a-z0-9_]+$", max_length=64, description="a Reading field name")]
assert all(name.replace("_", "").isalnum() for name in SENSORS)


class WindowStats(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    schema_version: Annotated[int, Meta(ge=1)] = 1
    device_id: DeviceId
    device_type: DeviceType | None = None
    sensor: SensorName  # the reading field, which carries the unit (temperature_c, ...)
    window_start: EpochMillis  # inclusive
    window_end: EpochMillis  # exclusive
    count: Annotated[int, Meta(ge=1)]
    mean: float
    min: float
    max: float
    std: Annotated[float, Meta(ge=0.0, description="population standard deviation")]
    last: float  # the value with the newest ts in the window
    slope_per_s: float  # least-squares slope against event time, sensor units per second

    def __post_init__(self) -> None:
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        slack = 1e-9 * max(1.0, abs(self.min), abs(self.max))  # float rounding of the mean
        if not self.min - slack <= self.mean <= self.max + slack:
            raise ValueError("mean must lie between min and max")


class EmittedWindowStats(msgspec.Struct):
    """A WindowStats as the worker emits it, built positionally and without WindowStats' checks (the window
    maths guarantees them: count >= 1, end > start, min <= mean <= max): the worker builds one per sensor and
    closed window, and the checks cost as much as the encoding. Its JSON is WindowStats' byte for byte (same
    fields in the same order; schema_version, at its default, omitted by both: a test holds them equal)."""

    device_id: str
    device_type: str
    sensor: str
    window_start: int
    window_end: int
    count: int
    mean: float
    min: float
    max: float
    std: float
    last: float
    slope_per_s: float
