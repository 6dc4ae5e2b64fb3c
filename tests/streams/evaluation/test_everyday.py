"""The everyday-use scenarios: reproducible, and judged through the production path."""

from __future__ import annotations

from streams.evaluation import everyday


def test_a_scenario_is_the_same_for_the_same_seed_and_counts_onsets_per_device_day() -> None:
    first, again = everyday.run("desktop", 1, 0.5, seed=3), everyday.run("desktop", 1, 0.5, seed=3)
    assert (first.onsets, first.reasons) == (again.onsets, again.reasons)
    assert first.per_device_day == first.onsets / 0.5


def test_the_desktops_clock_and_temperature_are_no_momentary_anomalies() -> None:
    result = everyday.run("desktop", 1, 1.0, seed=1)
    momentary = [k for k in result.reasons if k.startswith(("clock_ghz is", "temperature_c is"))]
    assert not momentary  # before LOAD_DRIVEN they were most of the desktop's false alerts
