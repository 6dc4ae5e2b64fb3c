"""Decoding and validation: every kind of bad input gets a stable reason, good input round-trips."""

from __future__ import annotations

import random

import msgspec
import pytest

from schemas import InvalidRecord, Reading, decode_reading, encode
from schemas.units import PLAUSIBLE, SENSORS
from schemas.validation import check_plausible

GOOD = b'{"device_id": "pi-7", "device_type": "raspberry_pi", "ts": 1795000000000, "seq": 3, "clock_ghz": 1.5}'


def test_a_valid_reading_round_trips() -> None:
    reading = decode_reading(GOOD)
    assert reading.clock_ghz == 1.5 and reading.device_type == "raspberry_pi"
    assert decode_reading(encode(reading)) == reading


def test_an_old_consumer_reads_a_newer_record_with_extra_fields() -> None:
    newer = GOOD[:-1] + b', "schema_version": 2, "humidity_pct": 40.0, "extra": {"a": [1]}}'
    reading = decode_reading(newer)
    assert reading.schema_version == 2 and reading.clock_ghz == 1.5


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "bad_json"),
        (b'{"device_id": "a"', "bad_json"),
        (b"[1, 2]", "wrong_type"),
        (b'{"device_type": "pc", "ts": 1, "seq": 0}', "missing_field"),
        (b'{"device_id": "a", "device_type": "pc", "ts": 1, "seq": 0, "load_pct": 100.5}', "out_of_range"),
        (b'{"device_id": "a", "device_type": "pc", "ts": -1, "seq": 0}', "out_of_range"),
        (b'{"device_id": "a", "device_type": "toaster", "ts": 1, "seq": 0}', "unknown_value"),
        (b'{"device_id": "a b", "device_type": "pc", "ts": 1, "seq": 0}', "bad_identifier"),
        (b'{"device_id": "", "device_type": "pc", "ts": 1, "seq": 0}', "bad_identifier"),
        (b'{"device_id": "a", "device_type": "pc", "ts": 1, "seq": 0, "clock_ghz": "3.4"}', "wrong_type"),
        # a clock sent in MHz where GHz is due: the original project's bug, now impossible
        (b'{"device_id": "a", "device_type": "pc", "ts": 1, "seq": 0, "clock_ghz": 3400}', "out_of_range"),
        # a lost decimal point: 5.1 V reported as 51 V on a Raspberry Pi
        (b'{"device_id": "a", "device_type": "raspberry_pi", "ts": 1, "seq": 0, "voltage_v": 51}', "implausible"),
    ],
)
def test_bad_input_is_rejected_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        decode_reading(payload)
    assert caught.value.reason == reason
    assert caught.value.error


def test_the_device_id_is_the_key_and_required() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"device_type": "pc", "ts": 1, "seq": 0}, Reading)


def _plausible_by_the_loop(reading: Reading) -> str | None:
    """check_plausible's verdict as its plain loop over PLAUSIBLE gives it (the message, or None)."""
    for field, (low, high) in PLAUSIBLE[reading.device_type].items():
        value = getattr(reading, field)
        if value is not None and not low <= value <= high:
            return f"{field}={value} {SENSORS[field].unit} is outside {low}..{high} for a {reading.device_type}"
    return None


def test_the_generated_plausibility_test_is_the_loop() -> None:
    """check_plausible tests with a generated function first: the same verdicts and messages as the loop, on
    values at, inside and beyond each bound (ints and floats, -0.0, absent ones)."""
    rng = random.Random(11)
    fields = sorted({field for ranges in PLAUSIBLE.values() for field in ranges})
    verdicts = set()
    for _ in range(3_000):
        kind = rng.choice(sorted(PLAUSIBLE))
        values: dict[str, float | None] = {}
        for field in fields:
            low, high = PLAUSIBLE[kind].get(field, (0, 1))
            values[field] = rng.choice(
                [None, low, high, float(low), -0.0, rng.uniform(low, high), low - 1e-9, high + 0.5, high * 2 + 1]
            )
        bounded = {
            f: None if v is None else max(SENSORS[f].absolute_min, min(SENSORS[f].absolute_max, v))
            for f, v in values.items()
        }
        reading = Reading(device_id="d-1", device_type=kind, ts=1, seq=0, **bounded)  # type: ignore[arg-type]
        expected = _plausible_by_the_loop(reading)
        try:
            check_plausible(reading)
            verdict = None
        except InvalidRecord as error:
            assert error.reason == "implausible"
            verdict = error.error
        assert verdict == expected
        verdicts.add(verdict is None)
    assert verdicts == {True, False}
