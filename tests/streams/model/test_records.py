"""Records: a value beyond anything the device has shown is rare in proportion to how long it has been watched,
and more so the further beyond it goes; a device's resolution and an excursion's length are no evidence."""

from __future__ import annotations

import math
import random

from streams.model.detector import ALERT_THRESHOLD, RECORD_ALERT, DeviceModel
from streams.model.records import DURATIONS, HIGHS, MIN_SEEN, QUIET_READINGS, K, Records

HOUR_MS = 3_600_000.0


def filled(values: list[float]) -> Records:
    records = Records(1)
    for value in values:
        records.learn(0, value)
    return records


def test_only_a_value_beyond_every_earlier_one_counts_and_its_rarity_grows_with_the_hours_watched() -> None:
    rng = random.Random(1)
    records = filled([rng.gauss(0, 1) for _ in range(1_000)])
    high = records.stats[HIGHS]
    assert records.surprise(0, high - 0.01, 0, 0.0, 0.0, HOUR_MS) == (0.0, high - 0.01)  # inside the range
    hourly, _ = records.surprise(0, high + 1e-6, 0, 0.0, 0.0, HOUR_MS)
    minutely, _ = records.surprise(0, high + 1e-6, 0, 0.0, 0.0, 60_000.0)
    # Beating the record of 1,000 hourly readings: ~1 in 1,000 hours, less a decade for the two sides it
    # could have gone; of 1,000 minutely ones (under 17 hours): hardly news.
    assert abs(hourly - (3 - math.log10(2))) < 0.01 and abs(minutely - math.log10(1_000 / 60 / 2)) < 0.01
    further, _ = records.surprise(0, high + 2.0, 0, 0.0, 0.0, HOUR_MS)
    assert further > hourly + 1  # two noise scales beyond: more than a decade rarer still


def test_a_failure_side_only_counts_its_own_records() -> None:
    records = filled([float(k % 10) for k in range(200)])
    assert records.surprise(0, 20.0, -1, 0.0, 0.0, HOUR_MS)[0] == 0.0  # a fan spinning faster than ever
    assert records.surprise(0, -10.0, -1, 0.0, 0.0, HOUR_MS)[0] > 0.0


def test_a_sensor_reporting_whole_units_is_not_many_decades_rarer_one_unit_beyond_its_record() -> None:
    rng = random.Random(2)
    records = filled([float(round(rng.gauss(392, 1.5))) for _ in range(300)])  # ties at its extremes
    high = records.stats[HIGHS]
    rare, beaten = records.surprise(0, high + 1, 0, 0.0, 0.0, HOUR_MS)
    assert beaten == high and rare < math.log10(300) + 1  # its resolution (1) floors the tail's scale


def test_one_excursion_counts_once_among_the_extremes_and_a_noisy_sensor_is_no_thinner_tailed_than_its_noise() -> None:
    records = filled([float(k % 50) for k in range(1_000)])  # a sawtooth: 20 separate excursions to 49
    records.learn(0, 60.0)
    records.learn(0, 61.0)  # one excursion of two readings...
    records.learn(0, 10.0)  # ...over: only its extreme joins the extremes
    highs = list(records.stats[HIGHS : HIGHS + K])
    assert highs[0] == 61.0 and 60.0 not in highs and highs[1:] == [49.0] * (K - 1)
    tight = filled([10.0 + 0.001 * (k % 7) for k in range(5_000)])  # extremes within 0.006 of each other
    bare, _ = tight.surprise(0, 10.1, 0, 0.0, 0.0, HOUR_MS)
    noisy, _ = tight.surprise(0, 10.1, 0, 0.0, 0.05, HOUR_MS)  # ...but its noise scale is 0.05
    assert noisy < bare - 5


def test_nothing_is_said_before_the_sensor_has_a_range() -> None:
    young, grown = filled([float(k) for k in range(MIN_SEEN - 1)]), filled([float(k) for k in range(MIN_SEEN)])
    assert young.surprise(0, 1e6, 0, 0.0, 0.0, HOUR_MS)[0] == 0.0
    assert grown.surprise(0, 1e6, 0, 0.0, 0.0, HOUR_MS)[0] > 0.0


def test_an_excursion_alerts_once_then_again_only_when_clearly_worse_and_re_arms_after_it_ends() -> None:
    records = Records(1)
    assert records.fresh(4.0, 3.0) == 4.0  # alerts: the mark moves to 2 * 4 - 3 = 5
    records.extreme = True
    assert records.fresh(4.5, 3.0) < 3.0  # still at its extremes, not clearly worse
    records.extreme = True
    assert records.fresh(8.5, 3.0) >= 3.0  # clearly worse
    for _ in range(QUIET_READINGS):
        assert records.fresh(0.0, 3.0) == 0.0  # back inside its range
    assert records.fresh(4.0, 3.0) == 4.0  # a new excursion alerts afresh


def test_a_device_below_anything_seen_in_weeks_says_so_and_alerts_as_it_gets_worse_not_per_reading() -> None:
    """Five-minute readings for four weeks, then a slow fall (a twentieth of a noise scale per reading)."""
    model, rng = DeviceModel("metric", ("value",)), random.Random(3)
    cadence = 300_000
    values = [50 + rng.gauss(0, 1) for _ in range(8_064)]
    values += [values[-1] - 0.05 * k + rng.gauss(0, 1) for k in range(300)]
    assessments = [model.update(k * cadence, {"value": v}) for k, v in enumerate(values)]
    assert max(a.score for a in assessments[:8_064]) < ALERT_THRESHOLD
    alerts = [k for k in range(8_064, len(values)) if assessments[k].score >= ALERT_THRESHOLD]
    assert alerts and len(alerts) <= 6, alerts
    # Every new low of the fall says so, with the record it beat.
    said = ["beyond anything this device has shown" in " ".join(r.detail for r in a.reasons) for a in assessments]
    assert sum(said[8_064:]) >= 10


def test_an_excursion_that_outlasts_every_earlier_one_is_a_record_though_no_value_beats_the_extremes() -> None:
    rng, values = random.Random(3), []
    for k in range(4_000):  # noise, with 20 dips of 3 to 60 readings, each deeper, and one glitch to -50
        dip = k % 200 < 3 + 3 * (k // 200)
        values.append(-50.0 if k == 2_000 else -4.0 - 0.01 * (k // 200) if dip else rng.gauss(0.0, 1.0))
    records = filled(values)
    longest = records.stats[DURATIONS + K]  # the longest low run so far: the first readings' or the last dip
    kth_low = records.stats[HIGHS + 2 * K - 1]
    surprises = []
    for _ in range(200):  # now down at -5 for good: never near the -50 record, but down longer than ever
        surprises.append(records.surprise(0, -5.0, -1, 0.0, 1.0, HOUR_MS))
        records.learn(0, -5.0)
    assert -50.0 < -5.0 < kth_low and longest >= 60.0
    first = next(i for i, (rare, _) in enumerate(surprises) if rare > 0.0)
    assert first == longest  # once longer than any earlier excursion, not before
    assert all(beaten != beaten for rare, beaten in surprises[first:])  # NaN: a duration record
    assert surprises[first][0] > 3.0  # 4,000 hours watched: 3.6 decades from the start
    assert surprises[-1][0] > surprises[first][0] + 1.0  # and rarer the longer it lasts


def test_a_positive_quantity_s_records_count_in_ratios() -> None:
    rng = random.Random(4)
    swings = [0.05 + 0.035 * math.sin(k / 10) + rng.gauss(0, 0.002) for k in range(2_000)]  # ~0.01-0.09
    assert min(swings) > 0.0
    positive, shifted = filled(swings), filled([s - 1.0 for s in swings])  # the same swings, around -0.95
    low = positive.stats[HIGHS + K]
    # 45-fold below the lowest a positive quantity has shown: news, though the fall is smaller than its swings
    ratio, beaten = positive.surprise(0, low / 45, -1, 0.001, 0.004, HOUR_MS)
    linear, _ = shifted.surprise(0, low / 45 - 1.0, -1, 0.001, 0.004, HOUR_MS)  # the same step, not positive
    assert beaten == low and ratio > RECORD_ALERT + 2 and linear < ratio - 2
    at_zero, _ = positive.surprise(0, 0.0, -1, 0.001, 0.004, HOUR_MS)  # at or below its resolution: the resolution
    assert at_zero == positive.surprise(0, -5.0, -1, 0.001, 0.004, HOUR_MS)[0] >= ratio
