"""Event-time admission, the policy every entry point applies (schemas/admission.py)."""

from __future__ import annotations

import json

import pytest

from schemas import InvalidRecord, decode_reading
from schemas.admission import FUTURE_TIME, TOO_OLD, TimeBounds, check_event_time, check_nanoseconds

NOW = 1_795_000_000_000
BOUNDS = TimeBounds(max_ahead_ms=300_000, max_age_ms=7 * 86_400_000)


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        (NOW, None),
        (NOW + 300_000, None),  # at the bound: a device clock 5 min fast is still admitted
        (NOW + 300_001, FUTURE_TIME),
        (3_500_000_000_000, FUTURE_TIME),  # 2080: the far-future reading of the issue
        (NOW - 7 * 86_400_000, None),
        (NOW - 7 * 86_400_000 - 1, TOO_OLD),
        (0, TOO_OLD),  # 1970: a time in the wrong unit
        (NOW // 1000, TOO_OLD),  # seconds where milliseconds belong
    ],
)
def test_event_time_is_bounded_around_the_reference_clock(ts: int, reason: str | None) -> None:
    if reason is None:
        check_event_time(ts, NOW, BOUNDS)
        return
    with pytest.raises(InvalidRecord) as raised:
        check_event_time(ts, NOW, BOUNDS)
    assert raised.value.reason == reason
    assert str(NOW) in raised.value.error, "the error names the reference it was judged by"


def test_a_zero_bound_is_no_bound() -> None:
    check_event_time(0, NOW, TimeBounds(300_000, 0))
    check_event_time(NOW * 2, NOW, TimeBounds(0, 0))


def test_bounds_from_settings_seconds() -> None:
    assert TimeBounds.from_seconds(300.0, 604_800.0) == TimeBounds(300_000, 604_800_000) == TimeBounds()


@pytest.mark.parametrize(
    ("value", "guess"),
    [
        (1_795_000_000, "seconds"),
        (1_795_000_000_000, "milliseconds"),
        (1_795_000_000_000_000, "microseconds"),
        (0, "1 digits"),
        (-5, "1 digits"),
        (10**19, "20 digits"),
    ],
)
def test_times_that_cannot_be_nanoseconds_are_named(value: int, guess: str) -> None:
    with pytest.raises(InvalidRecord) as raised:
        check_nanoseconds(value)
    assert raised.value.reason == "not_nanoseconds" and guess in raised.value.error


def test_nanoseconds_of_this_century_pass() -> None:
    check_nanoseconds(1_795_000_000_000_000_000)
    check_nanoseconds(10**18)


@pytest.mark.parametrize("field", ["ts", "seq", "throttled"])
def test_integers_past_64_bits_are_out_of_range_not_a_later_crash(field: str) -> None:
    """JSON integers have no size; one past int64 used to pass validation and then fail every msgpack
    encode of its device's state (a poison pill: that device's every batch crashed)."""
    reading = {"device_id": "pi-7", "device_type": "raspberry_pi", "ts": NOW, "seq": 3, field: 10**30}
    with pytest.raises(InvalidRecord) as raised:
        decode_reading(json.dumps(reading).encode())
    assert raised.value.reason == "out_of_range"
