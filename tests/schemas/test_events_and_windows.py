"""Device events and window stats: round trips, stable reasons for bad input, and evolution
(an old consumer reads a newer record that carries fields it does not know)."""

from __future__ import annotations

import json

import pytest

from schemas import (
    FailureLabel,
    Feedback,
    InvalidRecord,
    Lifecycle,
    Liveness,
    WindowStats,
    decode_event,
    decode_window_stats,
    encode,
)
from schemas.window_stats import EmittedWindowStats

TS = 1_795_000_000_000
EVENTS = [
    Lifecycle(device_id="sim-pc-00001", ts=TS, action="started", device_type="pc", source="simulator"),
    Liveness(device_id="sim-pc-00001", ts=TS, state="late", previous_state="on_time", last_seen_ts=TS - 9000),
    FailureLabel(device_id="sim-pc-00001", ts=TS, mode="fan_failure", onset_ts=TS - 3_600_000, failure_ts=TS),
    Feedback(device_id="sim-pc-00001", ts=TS, alert_ts=TS - 60_000, verdict="right", mode="fan_failure"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_every_event_kind_round_trips_with_its_tag(event: object) -> None:
    data = encode(event)
    assert json.loads(data)["kind"] in {"lifecycle", "liveness", "failure_label", "feedback"}
    assert decode_event(data) == event


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_an_old_consumer_reads_a_newer_event(event: object) -> None:
    newer = json.loads(encode(event)) | {"schema_version": 2, "confidence": 0.9, "extra": {"nested": [1]}}
    decoded = decode_event(json.dumps(newer).encode())
    assert type(decoded) is type(event) and decoded.schema_version == 2
    assert decoded.device_id == event.device_id and decoded.ts == event.ts


def test_a_failure_mode_the_consumer_has_not_heard_of_still_decodes() -> None:
    record = json.loads(encode(EVENTS[2])) | {"mode": "capacitor_plague"}
    assert decode_event(json.dumps(record).encode()).mode == "capacitor_plague"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"kind": "lifecycle", "device_id": "a", "ts": ', "bad_json"),
        (b'{"kind": "teleported", "device_id": "a", "ts": 1}', "unknown_value"),
        (b'{"kind": "liveness", "device_id": "a", "ts": 1, "state": "zombie"}', "unknown_value"),
        (b'{"kind": "failure_label", "device_id": "a", "ts": 1, "mode": "fan_failure"}', "missing_field"),
        (b'{"kind": "feedback", "device_id": "a b", "ts": 1, "alert_ts": 1, "verdict": "right"}', "bad_identifier"),
        (b'{"kind": "lifecycle", "device_id": "a", "ts": -5, "action": "started"}', "out_of_range"),
    ],
)
def test_bad_events_get_a_stable_reason(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        decode_event(data)
    assert caught.value.reason == reason


WINDOW = WindowStats(
    device_id="sim-rpi-00001",
    device_type="raspberry_pi",
    sensor="temperature_c",
    window_start=TS,
    window_end=TS + 60_000,
    count=12,
    mean=61.5,
    min=60.0,
    max=63.0,
    std=0.9,
    last=63.0,
    slope_per_s=0.05,
)


@pytest.mark.parametrize(
    "values",
    [
        (12, 61.5, 60.0, 63.0, 0.9, 63.0, 0.05),
        (1, -0.0, -0.0, -0.0, 0.0, -0.0, 0.0),
        (7, 1e-300, 5e-324, 2.5e-300, 1.7976931348623157e308, 1e-300, -123.456789012345),
        (100_000, 41.234567890123456, -40.1, 9_999.000001, 1234.5, 3.3, 1e-17),
    ],
)
def test_the_workers_window_stats_encode_exactly_as_window_stats(values: tuple) -> None:
    count, mean, low, high, std, last, slope = values
    common = {"device_id": "d-1", "device_type": "server", "sensor": "power_w", "window_start": TS}
    emitted = EmittedWindowStats(*common.values(), TS + 60_000, *values)  # type: ignore[call-arg]
    checked = WindowStats(
        **common,
        window_end=TS + 60_000,
        count=count,
        mean=mean,
        min=low,
        max=high,
        std=std,
        last=last,
        slope_per_s=slope,
    )
    assert encode(emitted) == encode(checked)
    assert EmittedWindowStats.__struct_fields__ == WindowStats.__struct_fields__[1:]  # all but schema_version


def test_window_stats_round_trip_and_old_consumer_reads_newer() -> None:
    assert decode_window_stats(encode(WINDOW)) == WINDOW
    newer = json.loads(encode(WINDOW)) | {"schema_version": 3, "p95": 62.9}
    assert decode_window_stats(json.dumps(newer).encode()).schema_version == 3


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"window_end": TS}, "wrong_type"),  # empty window: rejected by __post_init__
        ({"mean": 99.0}, "wrong_type"),  # mean outside min..max
        ({"count": 0}, "out_of_range"),
        ({"std": -1.0}, "out_of_range"),
    ],
)
def test_inconsistent_window_stats_are_rejected(change: dict[str, object], reason: str) -> None:
    record = json.loads(encode(WINDOW)) | change
    with pytest.raises(InvalidRecord) as caught:
        decode_window_stats(json.dumps(record).encode())
    assert caught.value.reason == reason
