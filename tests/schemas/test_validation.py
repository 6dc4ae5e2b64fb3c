"""Decoding and validation: every kind of bad input gets a stable reason, good input round-trips."""

from __future__ import annotations

import msgspec
import pytest

from schemas import InvalidRecord, Reading, decode_reading, encode

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
