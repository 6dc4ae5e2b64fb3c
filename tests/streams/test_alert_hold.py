"""A model alert that lasts one reading is what the device alert sees for the hold's length, through the worker."""

from __future__ import annotations

from schemas import Reading, Score, encode
from streams.alert_hold import HOLD_MS, AlertHold
from streams.processor import Processor, Record
from streams.scoring import BaselineScorer

T0 = 1_795_000_020_000


def _score(ts: int, value: float) -> Score:
    return Score(device_id="d", ts=ts, seq=0, score=value, model="m", reasons=[], scored_at=ts)


def test_an_alerting_score_is_held_then_expires_by_event_time() -> None:
    hold = AlertHold(threshold=0.7, hold_ms=HOLD_MS)
    spike = _score(T0, 0.75)
    hold.observe("d", spike)
    for later in (5_000, HOLD_MS - 1):
        newest = _score(T0 + later, 0.1)
        hold.observe("d", newest)
        assert hold.shown("d", newest) is spike
    newest = _score(T0 + HOLD_MS, 0.1)
    assert hold.shown("d", newest) is newest and "d" not in hold.held


def test_a_larger_newest_score_shows_and_a_new_alert_restarts_the_hold() -> None:
    hold = AlertHold(threshold=0.7, hold_ms=HOLD_MS)
    hold.observe("d", _score(T0, 0.72))
    larger = _score(T0 + 1_000, 0.9)
    hold.observe("d", larger)
    assert hold.shown("d", _score(T0 + HOLD_MS + 500, 0.2)).score == 0.9  # held from the second alert
    assert hold.shown("other", larger) is larger  # nothing held for another device


def test_the_worker_shows_a_one_reading_alert_for_the_hold() -> None:
    """One PC reading at its critical temperature (the baseline rule scores it 1.0), then normal ones."""
    processor, table = Processor(lateness_ms=0, scorer=BaselineScorer()), {}
    temperatures = [60.0, 60.0, 120.0] + [60.0] * 30
    for i, temperature in enumerate(temperatures):
        reading = Reading(device_id="d", device_type="pc", ts=T0 + i * 5_000, seq=i, temperature_c=temperature)
        result = processor.process([Record(0, i, encode(reading))], lambda device_id, _p: table.get(device_id))
        table.update({device: value for device, (_, value) in result.writes.items()})
    newest = processor.latest["d"][1]
    assert newest.score < 0.7 and processor.alerts.shown("d", newest).score == 1.0
