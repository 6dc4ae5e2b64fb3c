"""Unit tests without servers: the RPi get_throttled decoder, the host agent's capability detection,
and the Sensor Logger → reading mapping from fixtures written from the app's documented format."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from producers.host_agent import HostAgent, decode_throttled, parse_throttled
from producers.phone_ingest import Push, TokenBucket, to_reading
from schemas import InvalidRecord, decode_reading, encode

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("output", "bits", "now", "occurred"),
    [
        ("throttled=0x0\n", 0x0, set(), set()),
        ("throttled=0x50000\n", 0x50000, set(), {"under_voltage_occurred", "throttled_occurred"}),
        (
            "throttled=0x50005\n",
            0x50005,
            {"under_voltage", "throttled"},
            {"under_voltage_occurred", "throttled_occurred"},
        ),
        (
            "throttled=0xe0008",
            0xE0008,
            {"soft_temperature_limit"},
            {"arm_frequency_capped_occurred", "throttled_occurred", "soft_temperature_limit_occurred"},
        ),
    ],
)
def test_get_throttled_is_decoded(output: str, bits: int, now: set[str], occurred: set[str]) -> None:
    assert parse_throttled(output) == bits
    flags = {name for name, on in decode_throttled(bits).items() if on}
    assert flags == now | occurred


@pytest.mark.parametrize("output", ["", 'error=1 error_msg="Command not registered"', "throttled=banana"])
def test_unknown_get_throttled_output_is_an_error_not_a_zero(output: str) -> None:
    with pytest.raises(ValueError):
        parse_throttled(output)


def test_the_host_agent_reports_only_what_this_host_has() -> None:
    agent = HostAgent(device_id="host-test")
    reading = agent.read()
    assert decode_reading(encode(reading)) == reading  # validates: ranges and plausibility
    assert set(agent.probes) | set(agent.missing) >= {"temperature_c", "load_pct", "clock_ghz", "battery_pct"}
    for field in agent.missing:
        assert getattr(reading, field) is None, f"{field} is missing on this host but was reported"
    assert reading.load_pct is not None and reading.memory_pct is not None
    if reading.clock_ghz is not None:
        assert 0.2 < reading.clock_ghz < 7, "clock must be GHz, not MHz"


def _fixture(name: str) -> Push:
    return msgspec.json.decode((FIXTURES / name).read_bytes(), type=Push)


def test_an_android_push_maps_battery_voltage_health_and_temperature() -> None:
    reading = to_reading(_fixture("sensor_logger_android.json"), seq=5)
    assert reading is not None
    assert reading.device_id == "phone-a1b2c3d4-e5f6-4789-8abc-def012345678" and reading.device_type == "phone"
    assert reading.ts == 1_795_000_000_300  # newest mapped sample, ns → ms; motion samples don't count
    assert reading.seq == 5
    assert reading.battery_pct == 83.0 and reading.battery_charging is True
    # A battery's voltage follows its charge: a health field, not the supply voltage the model scores as wear
    assert reading.battery_voltage_v == 4.12 and reading.voltage_v is None and reading.battery_health == "good"
    assert reading.battery_temperature_c == 36.5
    assert reading.temperature_c is None  # a battery temperature is not a SoC temperature: not faked
    assert decode_reading(encode(reading)) == reading


def test_an_ios_push_maps_battery_and_thermal_state() -> None:
    reading = to_reading(_fixture("sensor_logger_ios.json"), seq=0)
    assert reading is not None
    assert reading.device_id == "phone-F00DCAFE-1234-4ABC-9DEF-0123456789AB"
    assert reading.battery_pct == 41.0 and reading.battery_charging is False
    assert reading.thermal_state == "serious" and reading.battery_voltage_v is None
    assert reading.ts == 1_795_000_060_500


def test_a_push_with_only_motion_sensors_maps_to_nothing() -> None:
    push = Push(messageId=1, sessionId="s", deviceId="d", payload=[])
    assert to_reading(push, 0) is None


def test_the_rate_limit_refuses_the_burst_beyond_its_capacity() -> None:
    bucket = TokenBucket(per_minute=3)
    assert [bucket.allow("a") for _ in range(4)] == [True, True, True, False]
    assert bucket.allow("b")  # per device


def test_a_push_timed_in_milliseconds_is_refused_not_dated_1970() -> None:
    push = _fixture("sensor_logger_android.json")
    for sample in push.payload:
        sample.time //= 1_000_000
    with pytest.raises(InvalidRecord) as raised:
        to_reading(push, seq=0)
    assert raised.value.reason == "not_nanoseconds" and "looks like milliseconds" in raised.value.error
