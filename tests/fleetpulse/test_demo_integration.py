"""The demo's story on real servers: at the demo's compressed event time, the scripted device's failure
score crosses the shipped alert threshold before the device fails."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest
from confluent_kafka import Message

from core.settings import Settings
from core.topics import create_topics
from fleetpulse.demo import DEMO_SPEEDUP, Story
from schemas import FailureLabel, Score
from schemas.validation import decode_event
from streams.model.detector import ALERT_THRESHOLD
from tests.conftest import isolated_settings
from tests.harness import RealProcess, consume, start_worker, wait_worker_ready

pytestmark = pytest.mark.integration

DEVICES = 4  # sim-pc-00000 … sim-phone-00003: one of each type, the scripted one first


def test_scripted_device_alerts_before_it_fails(stack: Settings) -> None:
    story = Story(speedup=DEMO_SPEEDUP)
    settings = isolated_settings(stack, simulator_failure_rate_per_hour=0.0, simulator_api_port=0, **story.settings())
    create_topics(settings)
    worker = start_worker(settings)
    simulator = RealProcess(settings, "simulate", "--devices", str(DEVICES), log_name="demo-simulator")
    try:
        wait_worker_ready(settings, worker)
        simulator.start()
        # The scripted failure ends in a label on the events topic; ~90 event-min at 60x is ~1.5 min of wall time.
        events = consume(
            settings,
            settings.topic_events,
            timeout=240,
            until=lambda messages: any(_label(m.value(), story.device_id) for m in messages),
        )
        label = next(e for m in events if (e := _label(m.value(), story.device_id)))
        assert label.mode == story.mode and label.injected
        last_reading = label.failure_ts - int(settings.simulator_cadence_seconds * 1000)
        until = _device_seen_from(story.device_id, last_reading)
        scores = consume(settings, settings.topic_scores, timeout=60, until=until)
    finally:
        simulator.stop()
        worker.stop()
    own = sorted(
        (s for s in (msgspec.json.decode(m.value(), type=Score) for m in scores) if s.device_id == story.device_id),
        key=lambda s: s.ts,
    )
    alerts = [s for s in own if s.score >= ALERT_THRESHOLD and label.onset_ts <= s.ts < label.failure_ts]
    assert alerts, f"no score >= {ALERT_THRESHOLD} before the failure; max {max(s.score for s in own):.2f}"
    lead_min = (label.failure_ts - alerts[0].ts) / 60_000
    assert lead_min >= 5, f"alerted only {lead_min:.1f} event-minutes before the failure"
    assert alerts[0].reasons, "an alert says why"
    early = [s for s in own if s.ts < label.onset_ts and s.score >= ALERT_THRESHOLD]
    assert not early, f"{len(early)} alert-level scores while the device was still healthy"


def _label(raw: bytes, device_id: str) -> FailureLabel | None:
    event = decode_event(raw)
    return event if isinstance(event, FailureLabel) and event.device_id == device_id else None


def _device_seen_from(device_id: str, ts: int) -> Callable[[list[Message]], bool]:
    """Read until the device's score dated at or after `ts` arrived: its partition is in order, so all of its
    scores before the failure are in."""

    checked, found = 0, False  # consume() passes the growing list each poll: look at the new records only

    def seen(messages: list[Message]) -> bool:
        nonlocal checked, found
        new, checked = messages[checked:], len(messages)
        scores = (msgspec.json.decode(m.value(), type=Score) for m in new)
        found = found or any(s.device_id == device_id and s.ts >= ts for s in scores)
        return found

    return seen
