"""The readings batch envelope: both message forms, per-element rejection, whole-message rejection."""

from __future__ import annotations

import msgspec
import pytest

from schemas import Reading, decode_batch, encode

PI = b'{"device_id": "pi-7", "device_type": "raspberry_pi", "ts": 1795000000000, "seq": 3, "clock_ghz": 1.5}'
PC = b'{"device_id": "pc-1", "device_type": "pc", "ts": 1795000000000, "seq": 9, "load_pct": 40.0}'
LOST_DECIMAL = b'{"device_id": "pi-8", "device_type": "raspberry_pi", "ts": 1, "seq": 0, "voltage_v": 51}'
MISSING = b'{"device_type": "pc", "ts": 1, "seq": 0}'


def test_a_single_reading_object_is_still_a_message() -> None:
    good, bad = decode_batch(PI)
    assert [r.device_id for r in good] == ["pi-7"] and bad == []


def test_a_valid_array_returns_every_reading_in_order() -> None:
    readings = [msgspec.json.decode(PI, type=Reading), msgspec.json.decode(PC, type=Reading)]
    good, bad = decode_batch(b" \n" + encode(readings))
    assert good == readings and bad == []


def test_bad_elements_are_rejected_one_by_one_with_their_own_bytes() -> None:
    data = b"[" + b",".join([PI, MISSING, b"42", PC, LOST_DECIMAL, b'"x"']) + b"]"
    good, bad = decode_batch(data)
    assert [r.device_id for r in good] == ["pi-7", "pc-1"]
    assert [(b.index, b.error.reason) for b in bad] == [
        (1, "missing_field"),
        (2, "wrong_type"),
        (4, "implausible"),
        (5, "wrong_type"),
    ]
    assert bad[0].payload == MISSING and bad[2].payload == LOST_DECIMAL  # the original element, not re-encoded


def test_an_implausible_element_alone_is_rejected_by_itself() -> None:
    good, bad = decode_batch(b"[" + PC + b"," + LOST_DECIMAL + b"]")
    assert [r.device_id for r in good] == ["pc-1"]
    assert [(b.index, b.error.reason, b.payload) for b in bad] == [(1, "implausible", LOST_DECIMAL)]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "bad_json"),
        (b"[" + PI + b",", "bad_json"),  # truncated array: nothing in it can be trusted
        (b"[]", "empty_batch"),
        (b" [ ] ", "empty_batch"),
        (b"42", "wrong_type"),
        (MISSING, "missing_field"),
        (LOST_DECIMAL, "implausible"),
    ],
)
def test_a_message_bad_as_a_whole_is_one_rejection(payload: bytes, reason: str) -> None:
    good, bad = decode_batch(payload)
    assert good == []
    assert len(bad) == 1 and bad[0].index is None and bad[0].payload == payload
    assert bad[0].error.reason == reason and bad[0].error.error
