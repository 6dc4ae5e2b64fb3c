"""The committed JSON Schemas are generated from the structs: a stale file fails here."""

from __future__ import annotations

from schemas.export import JSON_DIR, TOPIC_SCHEMAS, render


def test_committed_json_schemas_are_current() -> None:
    for name, struct in TOPIC_SCHEMAS.items():
        path = JSON_DIR / f"{name}.json"
        assert path.exists(), f"{path} missing: run `fleetpulse schemas`"
        assert path.read_text() == render(struct), f"{path} is stale: run `fleetpulse schemas`"


def test_every_measurement_carries_its_unit() -> None:
    import json

    schema = json.loads(render(TOPIC_SCHEMAS["readings.v1"]))
    properties = schema["$defs"]["Reading"]["properties"]
    units = {
        name: prop["anyOf"][0]["x-unit"]
        for name, prop in properties.items()
        if "anyOf" in prop and "x-unit" in prop["anyOf"][0]
    }
    assert units == {
        "temperature_c": "Cel",
        "power_w": "W",
        "load_pct": "%",
        "voltage_v": "V",
        "fan_cfm": "[ft_i]3/min",
        "clock_ghz": "GHz",
        "memory_pct": "%",
        "swap_pct": "%",
        "disk_pct": "%",
        "battery_pct": "%",
        "battery_temperature_c": "Cel",
        "fan_rpm": "/min",
        "battery_voltage_v": "V",
    }
