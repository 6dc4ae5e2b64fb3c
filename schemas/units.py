"""Sensors, their units, and the physically plausible range of each per device type."""

from __future__ import annotations

from typing import Final, NamedTuple


class Sensor(NamedTuple):
    field: str  # the attribute name on the wire; the suffix names the unit
    unit: str  # UCUM code, so tools can render it
    description: str
    absolute_min: float  # outside this no device of any type can be
    absolute_max: float


SENSORS: Final[dict[str, Sensor]] = {
    s.field: s
    for s in (
        Sensor("temperature_c", "Cel", "hottest CPU/SoC temperature, degrees Celsius", -40.0, 150.0),
        Sensor("power_w", "W", "power draw, watts", 0.0, 5000.0),
        Sensor("load_pct", "%", "CPU load, percent of all cores", 0.0, 100.0),
        Sensor("voltage_v", "V", "supply voltage, volts", 0.0, 500.0),
        Sensor("fan_cfm", "[ft_i]3/min", "fan airflow, cubic feet per minute", 0.0, 500.0),
        Sensor("clock_ghz", "GHz", "CPU clock, gigahertz (not MHz)", 0.0, 7.0),
    )
}

# Health sensors some devices report (host agent, phones); optional in Reading, not (yet) scored or
# windowed by the streams engine, which iterate SENSORS above.
HEALTH_SENSORS: Final[dict[str, Sensor]] = {
    s.field: s
    for s in (
        Sensor("memory_pct", "%", "memory in use, percent of RAM", 0.0, 100.0),
        Sensor("swap_pct", "%", "swap in use, percent", 0.0, 100.0),
        Sensor("disk_pct", "%", "fullest mounted filesystem, percent used", 0.0, 100.0),
        Sensor("battery_pct", "%", "battery charge, percent", 0.0, 100.0),
        Sensor("battery_temperature_c", "Cel", "battery temperature, degrees Celsius", -40.0, 120.0),
        Sensor("fan_rpm", "/min", "fastest fan, revolutions per minute", 0.0, 50_000.0),
        # A battery's terminal voltage follows its charge (4.35 V full, 3.7 V nearly empty, a step when the
        # charger is plugged in, a sag under load): not a supply voltage, so not voltage_v.
        Sensor("battery_voltage_v", "V", "battery terminal voltage, volts", 0.0, 10.0),
    )
}

DEVICE_TYPES: Final[tuple[str, ...]] = ("pc", "raspberry_pi", "server", "phone")

# Plausible ranges per device type; a value outside is rejected to the dead-letter topic, since it
# is a unit or transmission bug (a MHz clock sent as GHz, a lost decimal point), not a reading.
PLAUSIBLE: Final[dict[str, dict[str, tuple[float, float]]]] = {
    "pc": {
        "temperature_c": (-10, 120),
        "power_w": (0, 1500),
        "voltage_v": (0, 250),
        "fan_cfm": (0, 200),
        "clock_ghz": (0.2, 6.5),
    },
    "raspberry_pi": {
        "temperature_c": (-20, 110),
        "power_w": (0, 30),
        "voltage_v": (0, 6),
        "fan_cfm": (0, 20),
        "clock_ghz": (0.1, 3.0),
    },
    "server": {
        "temperature_c": (-10, 125),
        "power_w": (0, 5000),
        "voltage_v": (0, 500),
        "fan_cfm": (0, 500),
        "clock_ghz": (0.2, 6.0),
    },
    "phone": {
        "temperature_c": (-20, 90),
        "power_w": (0, 40),
        "voltage_v": (0, 10),
        "fan_cfm": (0, 0),
        "clock_ghz": (0.1, 4.5),
    },
}

# Where a device starts to be in danger (warn) and where it is damaged or shuts down (critical).
# Used by the baseline score; the ML score learns per-device normals on top of these.
LIMITS: Final[dict[str, dict[str, tuple[float, float]]]] = {
    "pc": {"temperature_c": (80, 95), "load_pct": (90, 100)},
    "raspberry_pi": {"temperature_c": (70, 85), "load_pct": (90, 100)},
    "server": {"temperature_c": (80, 95), "load_pct": (90, 100)},
    "phone": {"temperature_c": (42, 50), "load_pct": (90, 100)},
}
