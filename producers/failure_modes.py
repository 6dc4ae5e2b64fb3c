"""The simulated failure modes: how long each lasts, which device types get it, and its signature.

Every detectable mode degrades for 30-120 min of event time before the device fails, so a detector
has room for ≥ 15 min of lead time. `severity` s rises 0 → 0.7 over the degrading phase and
0.7 → 1 over the critical phase; the physics in `producers/fleet.py` turn s into the signature.

Signatures (what a detector can see in the readings) and whether sensor data can show it in advance:
- fan_failure: fan_cfm falls toward 8 % of nominal; temperature climbs for the same load; the clock
  throttles when hot. Detectable.
- thermal_paste: temperature rises for the same load and airflow (thermal resistance up to 3x); the
  clock throttles. Detectable (the slowest).
- undervoltage: the supply voltage sags up to 12 % with growing ripple; on a Raspberry Pi below 4.63 V
  the throttle bits 0x1/0x10000 (under-voltage) and 0x2/0x20000 (clock capped at 1.2 GHz) are set.
  Detectable.
- overload: load pinned near 100 %, power at its maximum, temperature up, clock throttled. Detectable.
- stuck_sensor: temperature_c repeats one value exactly (zero variance) while load and power move.
  Detectable (window std = 0).
- silent_death: nothing; the device stops reporting without warning. Not detectable from sensor data:
  only liveness sees it, after the fact.
- flapping_connectivity: readings go missing in growing bursts (gaps in seq and ts); values stay
  normal. Not from values: a liveness signal.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from schemas import DEVICE_TYPES, FAILURE_MODES


class Mode(NamedTuple):
    name: str
    degrading_min: tuple[float, float]  # event-time minutes, uniform range
    critical_min: tuple[float, float]
    detectable: bool
    weight: dict[str, float]  # relative chance per device type; 0 = this type cannot get it


MODES: Final[tuple[Mode, ...]] = (
    Mode("fan_failure", (30, 90), (8, 15), True, {"pc": 3, "raspberry_pi": 1, "server": 3, "phone": 0}),
    Mode("thermal_paste", (60, 120), (10, 20), True, {"pc": 2, "raspberry_pi": 1, "server": 1, "phone": 1}),
    Mode("undervoltage", (30, 90), (8, 15), True, {"pc": 1, "raspberry_pi": 3, "server": 1, "phone": 1}),
    Mode("overload", (30, 60), (8, 15), True, {"pc": 2, "raspberry_pi": 2, "server": 3, "phone": 2}),
    Mode("stuck_sensor", (30, 60), (5, 10), True, {"pc": 1, "raspberry_pi": 1, "server": 1, "phone": 1}),
    Mode("silent_death", (0, 0), (0, 0), False, {"pc": 1, "raspberry_pi": 1, "server": 1, "phone": 1}),
    Mode("flapping_connectivity", (30, 90), (8, 15), False, {"pc": 1, "raspberry_pi": 2, "server": 1, "phone": 3}),
)
MODE_INDEX: Final[dict[str, int]] = {mode.name: i for i, mode in enumerate(MODES)}
assert tuple(MODE_INDEX) == FAILURE_MODES, "schemas.FAILURE_MODES and the simulator must agree"


def weights(device_type: str) -> list[float]:
    """Normalised chances of each mode for one device type."""
    raw = [mode.weight[device_type] for mode in MODES]
    total = sum(raw)
    return [w / total for w in raw]


assert all(sum(weights(t)) > 0.99 for t in DEVICE_TYPES)
