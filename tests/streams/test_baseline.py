"""The baseline rule: 0 below warning, linear to 1 at critical, capped, explained."""

from __future__ import annotations

import pytest

from schemas import Reading
from streams.baseline import score


def reading(**values: float) -> Reading:
    return Reading(device_id="d1", device_type="pc", ts=1, seq=0, **values)


def test_healthy_reading_scores_zero_without_reasons() -> None:
    result = score(reading(temperature_c=50.0, load_pct=40.0), now_ms=5)
    assert result.score == 0.0 and result.reasons == [] and result.scored_at == 5


@pytest.mark.parametrize(("temperature", "expected"), [(80.0, 0.0), (87.5, 0.5), (95.0, 1.0), (140.0, 1.0)])
def test_score_rises_linearly_from_warning_to_critical(temperature: float, expected: float) -> None:
    assert score(reading(temperature_c=temperature)).score == pytest.approx(expected)


def test_the_worst_sensor_decides_and_reasons_are_ordered() -> None:
    result = score(reading(temperature_c=83.0, load_pct=99.0))
    assert result.score == pytest.approx(0.9)
    assert [reason.sensor for reason in result.reasons] == ["load_pct", "temperature_c"]
    assert "warning 90" in result.reasons[0].detail


def test_limits_depend_on_the_device_type() -> None:
    phone = Reading(device_id="p1", device_type="phone", ts=1, seq=0, temperature_c=46.0)
    assert score(phone).score == pytest.approx(0.5)
