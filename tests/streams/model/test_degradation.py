"""The failure model on devices it has never been told about: slow wear is caught against the device's own
healthy early life and never learned as normal, a repair re-baselines it, a healthy noisy device stays
quiet, spikes and level shifts alert once, and the state survives its envelope and warms new devices."""

from __future__ import annotations

import random

from streams.model import envelope, federated
from streams.model.degradation import REF_READINGS, Degradation, chi2_surprise
from streams.model.detector import ALERT_THRESHOLD, HABIT_FROM, DeviceModel

SENSORS = ("a", "b", "c", "d")
CYCLE = 3_600_000  # one reading per hour, like a turbofan's cycle


def reading(rng: random.Random, wear: float = 0.0) -> dict[str, float | None]:
    """Four generic sensors, each noisy around its own level; `wear` moves all of them, in noise units."""
    return {
        "a": 100 + rng.gauss(0, 1) + wear,
        "b": 5 + rng.gauss(0, 0.1) - 0.1 * wear,
        "c": 2000 + rng.gauss(0, 10) + 10 * wear,
        "d": 40 + rng.gauss(0, 0.5),  # a sensor the wear does not touch
    }


def run(model: DeviceModel, rng: random.Random, start: int, count: int, wear_per_reading: float = 0.0) -> list:
    return [model.update((start + k) * CYCLE, reading(rng, wear_per_reading * k)) for k in range(count)]


def test_chi2_tail_is_monotone_and_zero_below_the_mean() -> None:
    assert chi2_surprise(2.0, 4) == 0.0  # below its mean: no evidence
    values = [chi2_surprise(x, 4) for x in (8, 16, 32, 64, 128)]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert 1.0 < chi2_surprise(13.3, 4) < 2.2  # P(chi2_4 >= 13.28) = 0.01


def test_a_slow_monotone_drift_is_caught_and_never_learned_as_normal() -> None:
    model, rng = DeviceModel("turbine", SENSORS), random.Random(1)
    run(model, rng, 0, 200)  # healthy early life
    # Wear of 0.005 noise scales per reading: 1 scale after 200 readings, far below any single-reading test.
    drifting, levels = [], []
    for k in range(1_500):
        drifting.append(model.update((200 + k) * CYCLE, reading(rng, 0.005 * k)))
        levels.append(model.degradation.level)
    first = next((k for k, a in enumerate(drifting) if a.score >= ALERT_THRESHOLD), None)
    assert first is not None and first < 800, first
    assert drifting[first].reasons and drifting[first].reasons[0].sensor in {"a", "b", "c"}
    # Hundreds of readings later the device is further off its healthy self than when it alerted (whichever
    # channel alerted first: a record or the degradation), not re-baselined onto the wear, and the reasons
    # still name a worn sensor.
    assert min(levels[first + 300 :]) > max(levels[first], HABIT_FROM)
    assert drifting[-1].reasons[0].sensor in {"a", "b", "c"}
    assert sum(a.score >= ALERT_THRESHOLD for a in drifting) < 10  # it alerted as it got worse, not per reading


def test_a_repair_label_re_baselines_the_reference() -> None:
    model, rng = DeviceModel("turbine", SENSORS), random.Random(2)
    run(model, rng, 0, 200)
    run(model, rng, 200, 800, wear_per_reading=0.005)
    worn_mean = model.degradation.mean[0]
    model.learn_failure(model.last_ts + CYCLE)  # failed, repaired: what comes next is a healthy device
    assert model.degradation.level == 0.0 and model.degradation.count[0] == 0
    # The repaired device runs at a slightly different healthy level: that is its new normal, not wear.
    repaired = [model.update((1_100 + k) * CYCLE, reading(rng, 2.0)) for k in range(600)]
    assert max(a.score for a in repaired) < ALERT_THRESHOLD
    assert abs(model.degradation.mean[0] - worn_mean) < 5


def test_a_healthy_noisy_device_stays_within_the_false_alert_budget() -> None:
    """Three devices of four noisy sensors, an hourly reading each for four months: a record after months of
    watching is rare, not impossible, so the budget (one alert per 1,000 device-hours) is what must hold."""
    alerts = hours = 0
    for seed in range(3):
        model, rng = DeviceModel("turbine", SENSORS), random.Random(f"healthy{seed}")
        scores = [a.score for a in run(model, rng, 0, 3_000)]
        rising = zip([0.0, *scores[:-1]], scores, strict=True)
        alerts += sum(1 for before, now in rising if now >= ALERT_THRESHOLD > before)
        hours += len(scores)
    assert alerts * 1_000 / hours <= 1.0, alerts


def test_a_spike_and_a_level_shift_alert_once_each() -> None:
    model, rng = DeviceModel("metric", ("value",)), random.Random(3)
    cadence = 300_000
    values = [50 + rng.gauss(0, 1) for _ in range(3_000)]
    values[1_500] += 15  # a spike
    for k in range(2_200, 3_000):
        values[k] += 8  # a lasting level shift
    scores = [model.update(k * cadence, {"value": v}).score for k, v in enumerate(values)]
    alerts = [k for k, s in enumerate(scores) if s >= ALERT_THRESHOLD]
    assert any(1_500 <= k <= 1_502 for k in alerts), alerts
    assert any(2_200 <= k <= 2_210 for k in alerts), alerts
    assert max(scores[:1_500]) < ALERT_THRESHOLD and len(alerts) <= 6, alerts


def test_the_envelope_keeps_the_frozen_reference_and_scores_identically() -> None:
    model, rng = DeviceModel("turbine", SENSORS), random.Random(4)
    run(model, rng, 0, 200)
    run(model, rng, 200, 300, wear_per_reading=0.005)
    restored = envelope.load(envelope.dump(model))
    assert restored is not None and list(restored.degradation.mean) == list(model.degradation.mean)
    probe = reading(random.Random(5), 2.0)
    assert restored.update(model.last_ts + CYCLE, probe) == model.update(model.last_ts + CYCLE, probe)


def test_the_fleet_prior_carries_the_healthy_spread_to_new_devices() -> None:
    fleet = []
    for d in range(5):
        model = DeviceModel("turbine", SENSORS)
        run(model, random.Random(f"fleet{d}"), 0, 100)
        fleet.append(model)
    prior = federated.decode_prior(federated.encode_prior(federated.aggregate(fleet)))
    assert prior is not None and set(prior.healthy_sd) == set(SENSORS)
    assert 0.5 < prior.healthy_sd["a"] < 1.5 and 5 < prior.healthy_sd["c"] < 15
    merged = federated.merge_priors([prior, prior])
    assert merged.healthy_sd == prior.healthy_sd
    newcomer = federated.from_prior(prior)
    assert list(newcomer.degradation.prior_sd) == [prior.healthy_sd[s] for s in SENSORS]
    # With the fleet's spread known, a few readings of its own level suffice: the new device's reference
    # is as wide as the fleet says, not the (doubt-widened) spread of its first readings.
    rng = random.Random(6)
    for k in range(REF_READINGS + 1):
        newcomer.update(k * CYCLE, reading(rng))
    floors = [0.0] * len(SENSORS)
    cold = Degradation(len(SENSORS))
    for _ in range(REF_READINGS + 1):
        cold.update([v for v in reading(rng).values()], floors)
    assert newcomer.degradation.spread(0, 0.0) < cold.spread(0, 0.0)


def test_a_drift_within_the_references_own_uncertainty_is_no_wear_but_a_larger_one_is() -> None:
    surprises = {}
    for wear in (0.7, 3.0):  # held offsets on each of 8 sensors, in healthy spreads
        degradation, rng = Degradation(8), random.Random(9)
        floors = [0.0] * 8
        for _ in range(REF_READINGS):
            degradation.update([rng.gauss(0, 1) for _ in range(8)], floors)
        levels = [degradation.update([wear + rng.gauss(0, 1) for _ in range(8)], floors)[0] for _ in range(200)]
        surprises[wear] = max(levels[50:])
    # 0.7 spreads: about what a 30-reading reference cannot tell from its own healthy level (counted in
    # full, eight such sensors reach a surprise of ~4.6)
    assert surprises[0.7] < 1.0
    assert surprises[3.0] > HABIT_FROM  # three spreads on every sensor: wear


def test_a_held_slot_counts_its_last_smoothed_z_between_samples_and_a_missing_sensor_does_not() -> None:
    floors = [0.0, 0.0]
    rng = random.Random(10)
    levels = {}
    for held in (-1, 1):
        degradation = Degradation(2)
        for _ in range(REF_READINGS):
            degradation.update([rng.gauss(0, 1), rng.gauss(0, 1)], floors, held)
        for _ in range(30):  # slot 1 well off its reference for a while
            degradation.update([rng.gauss(0, 1), 8 + rng.gauss(0, 1)], floors, held)
        ewz = degradation.ewz[1]
        level, _, counted = degradation.update([rng.gauss(0, 1), None], floors, held)  # between slot 1's samples
        assert degradation.ewz[1] == ewz  # no sample, no smoothing step
        levels[held] = (level, counted)
    assert levels[1][1] == 2 and levels[1][0] > HABIT_FROM
    assert levels[-1][1] == 1 and levels[-1][0] < levels[1][0]
