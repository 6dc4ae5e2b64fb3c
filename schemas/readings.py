"""fleetpulse.readings.v1: one sensor reading of one device. Key: device_id.

A message value is either one Reading JSON object (the default) or a batch envelope: a JSON array of
Reading objects (opt-in, `fleetpulse simulate --batch N`), which cuts the consumer's per-message cost.
Envelope rule: every reading in one array belongs to a device whose Kafka partition, murmur2 like the
Java client and Faust (`(murmur2(device_id) & 0x7fffffff) % partitions`, `core/partitioning.py`),
is the message's own partition, so per-device state stays co-partitioned; the message key is the first
reading's device_id. `schemas.validation.decode_batch` reads both forms and rejects bad elements one by
one (an empty array is `empty_batch`). The worker enforces the partition rule for single readings and
envelope elements alike (`streams/admission.py`: `wrong_partition`).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from schemas.units import DEVICE_TYPES, HEALTH_SENSORS, SENSORS

DeviceId = Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
# Bounded above (9999-12-31) and seq by int64: msgspec decodes JSON integers of any size, and one
# beyond 64 bits would pass validation and then fail every msgpack encode of the device's state.
MAX_EPOCH_MS = 253_402_300_799_999
MAX_INT64 = 2**63 - 1
EpochMillis = Annotated[
    int, Meta(ge=0, le=MAX_EPOCH_MS, description="event time, milliseconds since the Unix epoch, UTC")
]
DeviceType = Literal["pc", "raspberry_pi", "server", "phone"]
assert set(DeviceType.__args__) == set(DEVICE_TYPES)


def _measure(field: str) -> object:
    sensor = SENSORS.get(field) or HEALTH_SENSORS[field]
    return Annotated[
        float,
        Meta(
            ge=sensor.absolute_min,
            le=sensor.absolute_max,
            description=sensor.description,
            extra_json_schema={"x-unit": sensor.unit},
        ),
    ]


class Reading(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Unknown fields are ignored on decode, so an old consumer reads a newer record (evolution rule 1)."""

    schema_version: Annotated[int, Meta(ge=1, description="minor versions only add optional fields")] = 1
    device_id: DeviceId
    device_type: DeviceType
    ts: EpochMillis
    seq: Annotated[int, Meta(ge=0, le=MAX_INT64, description="per-device sequence number; (device_id, ts) is unique")]
    temperature_c: _measure("temperature_c") | None = None  # type: ignore[valid-type]
    power_w: _measure("power_w") | None = None  # type: ignore[valid-type]
    load_pct: _measure("load_pct") | None = None  # type: ignore[valid-type]
    voltage_v: _measure("voltage_v") | None = None  # type: ignore[valid-type]
    fan_cfm: _measure("fan_cfm") | None = None  # type: ignore[valid-type]
    clock_ghz: _measure("clock_ghz") | None = None  # type: ignore[valid-type]
    throttled: Annotated[int, Meta(ge=0, le=MAX_INT64, description="Raspberry Pi get_throttled bit field")] | None = (
        None
    )
    # Optional health fields (minor version 1.1): host agent and phone ingestion.
    memory_pct: _measure("memory_pct") | None = None  # type: ignore[valid-type]
    swap_pct: _measure("swap_pct") | None = None  # type: ignore[valid-type]
    disk_pct: _measure("disk_pct") | None = None  # type: ignore[valid-type]
    battery_pct: _measure("battery_pct") | None = None  # type: ignore[valid-type]
    battery_temperature_c: _measure("battery_temperature_c") | None = None  # type: ignore[valid-type]
    battery_charging: bool | None = None
    battery_health: Annotated[str, Meta(pattern=r"^[a-z_]{1,32}$", description="Android battery health")] | None = None
    thermal_state: Literal["nominal", "fair", "serious", "critical"] | None = None  # the OS's own verdict
    fan_rpm: _measure("fan_rpm") | None = None  # type: ignore[valid-type]
    battery_voltage_v: _measure("battery_voltage_v") | None = None  # type: ignore[valid-type]  # minor version 1.2
