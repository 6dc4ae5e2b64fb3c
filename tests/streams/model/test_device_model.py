"""Properties of the device model: calibration, monotonicity, no ties at the top, warm-up, feedback,
the federated prior, drift, and the persistence envelope."""

from __future__ import annotations

import itertools
import random
import tracemalloc
from array import array

import msgspec
import pytest
from prometheus_client import REGISTRY

from streams.model import calibration, envelope, federated
from streams.model.detector import ALERT_THRESHOLD, COLD_WARMUP, PATTERN_SLOTS, DeviceModel
from streams.model.supervised import HORIZON_MS

CADENCE = 5_000


def healthy(rng: random.Random, scale: float = 1.0, level: float = 50.0) -> dict[str, float]:
    load = min(100.0, max(0.0, 40 + rng.gauss(0, 5)))
    return {
        "temperature_c": level + 0.2 * (load - 40) + rng.gauss(0, 0.5 * scale),
        "load_pct": load,
        "power_w": 60 + 1.5 * load + rng.gauss(0, 0.5 * scale),
        "voltage_v": 12 + rng.gauss(0, 0.05 * scale),
        "fan_cfm": 35 + rng.gauss(0, 0.5 * scale),
        "clock_ghz": 3.6,
    }


def run(model: DeviceModel, rng: random.Random, readings: int, start: int = 0, **kwargs: float) -> list:
    return [model.update((start + k) * CADENCE, healthy(rng, **kwargs)) for k in range(readings)]


def test_surprise_map_is_monotone_continuous_and_never_reaches_one() -> None:
    zs = [0.5 * k for k in range(200)]
    surprises = [calibration.gaussian_surprise(z) for z in zs]
    scores = [calibration.to_score(s) for s in surprises]
    assert all(b > a for a, b in itertools.pairwise(scores[1:]))
    assert max(scores) < 1.0
    assert calibration.gaussian_surprise(3.0) == pytest.approx(2.57, abs=0.01)  # P(|Z|>3) = 0.0027


def test_calibrated_tail_is_strictly_decreasing_beyond_everything_seen() -> None:
    tail = calibration.EmpiricalTail()
    rng = random.Random(1)
    for _ in range(5_000):
        tail.learn(calibration.gaussian_surprise(rng.gauss(0, 1)))
    values = [tail.calibrate(raw) for raw in (1, 2, 5, 10, 50, 400, 800)]
    assert values == sorted(values) and len(set(values)) == len(values)


def test_calibration_never_makes_a_reading_rarer_than_the_gaussian_tail_but_heavy_tails_make_it_commoner() -> None:
    gaussian, heavy = calibration.EmpiricalTail(), calibration.EmpiricalTail()
    rng = random.Random(3)
    for _ in range(20_000):
        gaussian.learn(calibration.gaussian_surprise(rng.gauss(0, 1)))
        heavy.learn(calibration.gaussian_surprise(rng.gauss(0, 1) * (6 if rng.random() < 0.01 else 1)))
    # Beyond everything seen the raw L stands: a day's history is no evidence that the tail is lighter.
    assert all(gaussian.calibrate(raw) <= raw for raw in (1, 3, 5, 7, 9, 12))
    assert gaussian.calibrate(9.0) == pytest.approx(9.0)
    # A device whose history holds 1 % of 6-sigma readings: a 6-sigma reading is ordinary for it.
    assert heavy.calibrate(calibration.gaussian_surprise(6.0)) < 3.0


def test_a_threshold_means_the_same_false_alarm_rate_on_devices_with_different_noise() -> None:
    rates = []
    for scale, level in ((0.3, 40.0), (1.0, 50.0), (3.0, 60.0)):
        model, rng = DeviceModel("pc"), random.Random(f"{scale}")
        scores = [a.score for a in run(model, rng, 3_000, scale=scale, level=level) if not a.warming_up]
        rates.append(sum(s >= 0.5 for s in scores) / len(scores))
    assert max(rates) < 0.01  # 0.5 = a one-in-a-thousand reading per device (Bonferroni over sensors)
    assert max(rates) - min(rates) < 0.005


def test_score_rises_with_the_deviation_and_distinct_deviations_do_not_tie() -> None:
    model, rng = DeviceModel("pc"), random.Random(2)
    run(model, rng, 600)
    state = envelope.dump(model)
    scores = []
    for offset in (0, 2, 4, 8, 16, 32, 64):
        probe = envelope.load(state)
        values = healthy(random.Random(3))
        values["fan_cfm"] = 35.0 - offset * 0.5  # the fan slowing, in steps of its noise
        scores.append(probe.update(600 * CADENCE, values).score)
    assert scores == sorted(scores) and len(set(scores[2:])) == len(scores[2:]) and scores[-1] < 1.0


def test_warming_up_device_cannot_alert_from_statistics_but_physical_limits_still_count() -> None:
    model, rng = DeviceModel("pc"), random.Random(4)
    first = run(model, rng, 10)
    assert all(a.warming_up and a.score == 0.0 for a in first)
    hot = healthy(rng) | {"temperature_c": 94.0}
    assessment = model.update(10 * CADENCE, hot)
    assert assessment.warming_up and assessment.score > 0.5
    assert assessment.reasons[0].sensor == "temperature_c"
    run(model, rng, COLD_WARMUP, start=11)
    assert not model.warming_up


def test_reasons_name_the_sensor_and_time_to_limit_follows_a_trend() -> None:
    model, rng = DeviceModel("pc"), random.Random(5)
    run(model, rng, 400)
    assessment = None
    for k in range(60):  # temperature climbing 0.5 °C per reading (6 °C/min) from ~50 °C
        values = healthy(rng) | {"temperature_c": 50 + 0.5 * k}
        assessment = model.update((400 + k) * CADENCE, values)
    assert assessment is not None and assessment.reasons[0].sensor == "temperature_c"
    assert assessment.time_to_limit_s is not None and 0 < assessment.time_to_limit_s < 15 * 60


def test_feedback_that_an_alert_was_wrong_lowers_the_score_of_the_same_pattern() -> None:
    model, rng = DeviceModel("pc"), random.Random(6)
    run(model, rng, 1_000)
    state = envelope.dump(model)
    pattern = healthy(random.Random(7)) | {"fan_cfm": 31.0}
    before = envelope.load(state).update(1_000 * CADENCE, pattern).score
    taught = envelope.load(state)
    for k in range(12):  # the same pattern, alerted on and judged wrong, again and again
        ts = (1_000 + k * 30) * CADENCE
        taught.update(ts, pattern)
        run(taught, rng, 29, start=1_001 + k * 30)
        assert taught.learn_feedback(ts, right=False)
    # Failures elsewhere teach the positive class, so the supervised half is active.
    for k in range(4):
        assert taught.learn_failure(taught.last_ts - k * 60_000) >= 0
    after = taught.update(taught.last_ts + CADENCE, pattern)
    assert after.supervised is not None
    assert after.score < before


def test_a_failure_label_teaches_from_features_seen_before_it() -> None:
    model, rng = DeviceModel("server"), random.Random(8)
    run(model, rng, 800)
    onset = model.last_ts - HORIZON_MS // 2
    taught = model.learn_failure(model.last_ts, onset_ts=onset)
    assert taught > 0 and model.supervised.positives == taught
    assert model.learn_failure(model.last_ts, onset_ts=onset) == 0  # a redelivered label is not counted twice
    assert model.learn_failure(model.last_ts) > 0  # without the onset, the whole horizon before it
    assert all(model.buffer.labelled[i] for i in model.buffer.between(model.last_ts - HORIZON_MS, model.last_ts))


def test_a_new_device_started_from_the_fleet_prior_detects_earlier_than_a_cold_one() -> None:
    fleet = []
    for d in range(6):
        model, rng = DeviceModel("pc"), random.Random(f"fleet{d}")
        run(model, rng, 1_500, level=45 + d)
        fleet.append(model)
    prior = federated.decode_prior(federated.encode_prior(federated.aggregate(fleet)))
    assert prior is not None and prior.devices == 6

    def first_alert(model: DeviceModel, fault_at: int) -> int | None:
        rng = random.Random("newcomer")
        for k in range(120):
            values = healthy(rng, level=52)
            if k >= fault_at:
                values["fan_cfm"] = 20.0  # the fan fails early in the device's life
            if model.update(k * CADENCE, values).score >= 0.6:
                return k
        return None

    warm = first_alert(federated.from_prior(prior), fault_at=25)
    cold = first_alert(DeviceModel("pc"), fault_at=25)
    print(f"first alert: warm {warm}, cold {cold}")
    assert warm is not None and warm >= 25  # no false alarm before the fault, then detected
    assert cold is None or cold > warm  # the cold device is still learning what normal is

    # And on healthy data its early false alarms are no worse than a cold device forced to alert as soon.
    def false_alarms(model: DeviceModel) -> int:
        return sum(a.score >= 0.6 for a in run(model, random.Random("healthy"), 200, level=52))

    assert false_alarms(federated.from_prior(prior)) <= false_alarms(DeviceModel("pc", warmup=12))


def test_federated_averaging_weights_by_labels_and_merges_partitions() -> None:
    a, b = DeviceModel("pc"), DeviceModel("pc")
    a.supervised.set_weights({"z:fan_cfm": 1.0}, 0.0)
    b.supervised.set_weights({"z:fan_cfm": 4.0}, 1.0)
    a.supervised.positives, a.supervised.negatives = 1, 2  # 3 labels
    b.supervised.positives, b.supervised.negatives = 3, 3  # 6 labels
    prior = federated.aggregate([a, b])
    assert prior.weights["z:fan_cfm"] == pytest.approx((3 * 1.0 + 6 * 4.0) / 9)
    merged = federated.merge_priors([federated.aggregate([a]), federated.aggregate([b])])
    assert merged.weights["z:fan_cfm"] == pytest.approx(prior.weights["z:fan_cfm"])
    assert merged.devices == 2
    with pytest.raises(ValueError):
        federated.aggregate([a, DeviceModel("raspberry_pi", ("voltage_v",))])


def test_a_lasting_regime_change_is_reported_once_as_drift_and_re_baselined() -> None:
    model, rng = DeviceModel("pc"), random.Random(9)
    exported = REGISTRY.get_sample_value("fleetpulse_worker_model_drift_events_total", {"device_type": "pc"}) or 0
    run(model, rng, 800)
    after = run(model, rng, 400, start=800, level=58, scale=2.0)  # new workload: hotter, noisier
    drifts = [k for k, a in enumerate(after) if a.drift]
    assert len(drifts) == 1 and model.drift.events == 1
    assert (
        REGISTRY.get_sample_value("fleetpulse_worker_model_drift_events_total", {"device_type": "pc"}) == exported + 1
    )
    assert after[-1].score < 0.5  # the baseline has caught up with the new normal


def test_envelope_round_trip_gives_identical_scores() -> None:
    model, rng = DeviceModel("raspberry_pi"), random.Random(10)
    run(model, rng, 500)
    model.learn_failure(model.last_ts)
    restored = envelope.load(envelope.dump(model))
    assert restored is not None
    probe = healthy(random.Random(11)) | {"voltage_v": 11.5}
    assert restored.update(501 * CADENCE, probe).score == model.update(501 * CADENCE, probe).score


def test_a_young_device_s_envelope_builds_no_regression_and_round_trips_to_the_same_bytes() -> None:
    model = DeviceModel("pc")
    run(model, random.Random(13), 100)  # under the label horizon: nothing learned yet
    data = envelope.dump(model)
    restored = envelope.load(data)
    assert restored is not None and restored.supervised._regression is None
    assert envelope.dump(restored) == data
    probe = healthy(random.Random(14))
    assert restored.update(101 * CADENCE, probe).score == model.update(101 * CADENCE, probe).score


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("model_version", 999, "model_version"),
        ("river_version", "0.0.1", "river_version"),
        ("schema_hash", "deadbeef", "feature_schema"),
        ("format", 7, "format"),
    ],
)
def test_envelope_mismatch_is_refused_and_counted_not_crashed(field: str, value: object, reason: str) -> None:
    model = DeviceModel("phone")
    run(model, random.Random(12), 100)
    stale = msgspec.structs.replace(
        msgspec.msgpack.decode(envelope.dump(model), type=envelope.Envelope), **{field: value}
    )
    before = envelope.rejections[reason]
    exported = REGISTRY.get_sample_value("fleetpulse_worker_model_envelope_rejections_total", {"reason": reason}) or 0
    assert envelope.load(msgspec.msgpack.encode(stale)) is None
    assert envelope.rejections[reason] == before + 1
    assert (
        REGISTRY.get_sample_value("fleetpulse_worker_model_envelope_rejections_total", {"reason": reason})
        == exported + 1
    )


def test_corrupt_bytes_are_refused_and_counted() -> None:
    before = envelope.rejections["corrupt"]
    assert envelope.load(b"\x93not an envelope") is None
    assert envelope.load(envelope.dump(DeviceModel("pc"))[:-5]) is None
    assert envelope.rejections["corrupt"] == before + 2


def test_memory_per_device_is_under_20_kb() -> None:
    model, rng = DeviceModel("pc"), random.Random(13)
    run(model, rng, 3_000)
    model.learn_failure(model.last_ts)
    model.patterns = array("d", [0.0, 5.0, 3_000.0, 2.0] * PATTERN_SLOTS)  # every alert-pattern slot held
    data = envelope.dump(model)
    assert len(data) < 20_000
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    copies = [envelope.load(data) for _ in range(50)]
    per_model = (tracemalloc.get_traced_memory()[0] - baseline) / len(copies)
    tracemalloc.stop()
    assert per_model < 20_000


def test_a_persisting_deviation_alerts_at_its_onset_and_again_only_when_it_gets_clearly_worse() -> None:
    model, rng = DeviceModel("server"), random.Random(14)
    run(model, rng, 1_000)
    scores = []
    for k in range(240):  # the fan drops by 8 noise scales and stays there; at k=160 it drops much further
        values = healthy(rng) | {"fan_cfm": 35.0 - (4.0 if k < 160 else 25.0) + rng.gauss(0, 0.5)}
        scores.append(model.update((1_000 + k) * CADENCE, values).score)
    assert max(scores[:5]) >= 0.7  # the change alerts at once
    assert max(scores[60:160]) < 0.6  # the same deviation, held, no longer alerts every reading
    assert max(scores[160:165]) >= 0.7  # clearly worse than before: alerts again


def test_a_slow_rise_still_alerts_when_it_gets_there() -> None:
    model, rng = DeviceModel("pc"), random.Random(15)
    run(model, rng, 1_000)
    first = None
    for k in range(600):  # voltage sagging 0.05 noise scales per reading (~5 % in 50 min)
        values = healthy(rng) | {"voltage_v": 12 - 0.0025 * k + rng.gauss(0, 0.05)}
        if model.update((1_000 + k) * CADENCE, values).score >= 0.7:
            first = k
            break
    assert first is not None and first < 300


def test_a_failure_label_re_levels_the_repaired_device_instead_of_alerting_on_its_normal() -> None:
    model, rng = DeviceModel("pc"), random.Random(16)
    run(model, rng, 800)
    for k in range(400):  # a long fan failure drags the learned level down
        values = healthy(rng) | {"fan_cfm": 35.0 - 0.06 * k}
        model.update((800 + k) * CADENCE, values)
    failed_at = model.last_ts + CADENCE
    seen = model.seen
    model.learn_failure(failed_at, onset_ts=800 * CADENCE)
    assert model.warming_up and model.seen == seen  # re-levelled; the lifetime count continues
    repaired = run(model, rng, 300, start=1_400)  # back to the healthy fan after a repair
    assert max(a.score for a in repaired) < ALERT_THRESHOLD
    assert model.learn_failure(failed_at, onset_ts=800 * CADENCE) == 0 and not model.warming_up  # redelivery: no-op


def heat_sink(rng: random.Random, readings: int, resistance: list[float]) -> list[dict[str, float]]:
    """A chip whose temperature follows its (wandering) load with a lag; `resistance[k]` scales the heat
    the load makes at reading k (1 = healthy, 3 = paste fully dried out)."""
    load, temperature, out = 40.0, 44.0, []
    for k in range(readings):
        load = min(100.0, max(0.0, load + 0.2 * (40 - load) + 3 * rng.gauss(0, 1)))
        target = 30 + 0.35 * (load + 10) * resistance[k]
        temperature += 0.15 * (target - temperature) + 0.3 * rng.gauss(0, 1)
        out.append(
            {
                "temperature_c": temperature,
                "load_pct": load,
                "power_w": 40 + 1.6 * load + rng.gauss(0, 0.5),
                "voltage_v": 12 + rng.gauss(0, 0.05),
                "fan_cfm": 35 + rng.gauss(0, 0.5),
                "clock_ghz": 3.6,
            }
        )
    return out


def test_heat_the_load_does_not_explain_alerts_long_before_the_temperature_limit() -> None:
    """Dried thermal paste: hotter at the same load, ramping over 100 min; the device never gets near its
    80 °C warning. The residual against the smoothed load must catch it early, and a slow ramp must not
    teach the model that it is normal (noise scale, relation and spread are held while it is young)."""
    healthy_n, ramp_n = 1_500, 1_200
    resistance = [1.0] * healthy_n + [1.0 + 2.0 * k / ramp_n for k in range(ramp_n)]
    readings = heat_sink(random.Random(17), healthy_n + ramp_n, resistance)
    model = DeviceModel("pc")
    scores = [model.update(k * CADENCE, values) for k, values in enumerate(readings)]
    assert max(a.score for a in scores[COLD_WARMUP:healthy_n]) < ALERT_THRESHOLD  # no false alarm first
    first = next((k for k in range(ramp_n) if scores[healthy_n + k].score >= ALERT_THRESHOLD), None)
    assert first is not None and first < ramp_n // 3, first  # within the first third of the ramp
    assert readings[healthy_n + first]["temperature_c"] < 70  # far from the limit rule's reach
    assert scores[healthy_n + first].reasons[0].sensor == "temperature_c"


def test_a_young_sustained_shift_teaches_no_noise_but_an_old_one_is_the_new_normal() -> None:
    from streams.model.features import SHIFT_HOLD_MS, SensorBaseline

    baseline, rng = SensorBaseline(floor=0.002), random.Random(18)
    for k in range(2_000):
        value = 12 + rng.gauss(0, 0.05)
        baseline.evidence(baseline.z(value))
        baseline.update(value, k * CADENCE, 0.002)
    healthy_scale = baseline.scale()
    k, shifted_at = 2_000, None
    while k * CADENCE < 2_000 * CADENCE + 3 * SHIFT_HOLD_MS:  # a sag of 0.002 V per reading, then held
        value = 12 - 0.002 * min(k - 2_000, 300) + rng.gauss(0, 0.05)
        baseline.evidence(baseline.z(value))
        baseline.update(value, k * CADENCE, 0.002)
        if baseline.holding(k * CADENCE) and shifted_at is None:
            shifted_at, scale_then = k, baseline.scale()
        if shifted_at is not None and k == 2_000 + 300:
            assert baseline.scale() < 1.2 * healthy_scale  # the ramp did not widen the noise scale
        k += 1
    assert shifted_at is not None and scale_then < 1.2 * healthy_scale
    assert not baseline.holding(k * CADENCE)  # three hours later: the new level is normal, learning resumed


def test_a_second_slow_failure_after_a_repair_is_caught_as_early_as_the_first() -> None:
    """A failure longer than the hold on young shifts is eventually learned (scales, thermal slope); its
    label rolls those back to the last checkpoint before its onset, so the repaired device is judged by
    its healthy self again, not by what the failure taught it."""
    healthy_n, ramp_n, gap_n, offline_n = 1_500, 1_800, 900, 240  # 150-min ramps; 20 min offline for repair
    ramp = [1.0 + 2.0 * k / ramp_n for k in range(ramp_n)]
    resistance = [1.0] * healthy_n + ramp + [1.0] * gap_n + ramp
    readings = heat_sink(random.Random(19), len(resistance), resistance)
    failed, second = healthy_n + ramp_n, healthy_n + ramp_n + gap_n
    model = DeviceModel("pc")
    alerts = []
    for k, values in enumerate(readings):
        if k == healthy_n:
            healthy_scale = model.residual.scale()
        if k == failed:  # the device failed: its label arrives, it is repaired (no readings meanwhile)
            taught_scale = model.residual.scale()
            model.learn_failure(k * CADENCE, onset_ts=healthy_n * CADENCE)
            assert taught_scale > 2 * healthy_scale  # the long failure did widen it...
            assert model.residual.scale() < 1.2 * healthy_scale  # ...and its label rolled that back
        if failed <= k < failed + offline_n:
            continue
        if model.update(k * CADENCE, values).score >= ALERT_THRESHOLD:
            alerts.append(k)
    first = next(k - healthy_n for k in alerts if healthy_n <= k < failed)
    again = next((k - second for k in alerts if k >= second), None)
    assert not [k for k in alerts if failed <= k < second]  # the repaired device is quiet
    assert again is not None and again < ramp_n // 3, (first, again)


def test_a_regular_identical_burst_stops_alerting_but_a_bigger_one_is_news() -> None:
    # A generic metric at 5-minute cadence with the same short burst every 100 readings (a cron job).
    model, rng = DeviceModel("nab_series", ("value",)), random.Random(7)
    alerts = {}
    for k in range(1_500):
        value = 10 + rng.gauss(0, 0.5) + (20 if k % 100 == 0 and k >= 200 else 0) + (40 if k == 1_450 else 0)
        alerts[k] = model.update(k * 300_000, {"value": value}).score >= ALERT_THRESHOLD
    bursts = [k for k in range(200, 1_400, 100) if alerts[k]]
    assert bursts == [200, 300]  # the first two bursts are news; the same pattern a third time is expected
    assert alerts[1_450]  # a burst twice the size is a different pattern


def test_an_alert_does_not_teach_the_calibration_that_its_size_is_normal() -> None:
    # A rare 8-sigma reading, then 1,000 readings later a 6-sigma one: the second is news too. Had the
    # first been learned as the device's normal surprise, the empirical tail would have put every later
    # reading below it at 1 in ~1,000 (score ~0.5) for good.
    model, rng = DeviceModel("nab_series", ("value",)), random.Random(11)
    scores = {}
    for k in range(1_400):
        value = 10 + rng.gauss(0, 0.5) + (4.0 if k == 300 else 3.0 if k == 1_300 else 0)
        scores[k] = model.update(k * 300_000, {"value": value}).score
    assert scores[300] >= ALERT_THRESHOLD
    assert scores[1_300] >= ALERT_THRESHOLD
    assert max(v for k, v in scores.items() if k > 1_000 and k != 1_300) < ALERT_THRESHOLD  # noise is still quiet


def test_one_busy_reading_is_no_alert_but_a_sustained_overload_and_a_single_hot_reading_are() -> None:
    model, rng = DeviceModel("pc"), random.Random(21)
    run(model, rng, 1_500)
    state = envelope.dump(model)
    busy = healthy(random.Random(5)) | {"load_pct": 95.0, "power_w": 60 + 1.5 * 95.0}  # 11 load scales up
    assert envelope.load(state).update(1_500 * CADENCE, busy).score < ALERT_THRESHOLD
    hot = healthy(random.Random(5)) | {"temperature_c": 60.0}  # 20 noise scales: not a workload sensor
    assert envelope.load(state).update(1_500 * CADENCE, hot).score >= ALERT_THRESHOLD
    overloaded = envelope.load(state)
    assert overloaded is not None
    scores = [
        overloaded.update((1_500 + k) * CADENCE, healthy(rng) | {"load_pct": 95.0, "power_w": 60 + 1.5 * 95.0}).score
        for k in range(120)
    ]
    assert max(scores) >= ALERT_THRESHOLD  # the same load, held, is a shift: it counts


def test_a_device_held_idle_is_no_alert_as_a_device_held_busy_is() -> None:
    """A workload sensor's sustained shift counts toward failure only: the same held shift downwards (a device
    asked for less for a while, a phone left idle) is not a failure sign. (No thermometer here: how heat follows
    the load is the thermal residual's test, not this one.)"""
    sensors = ("load_pct", "power_w", "voltage_v", "fan_cfm")
    model, rng = DeviceModel("pc", sensors), random.Random(21)
    for k in range(1_500):
        model.update(k * CADENCE, {s: v for s, v in healthy(rng).items() if s in sensors})
    state = envelope.dump(model)

    def held(shift: float) -> float:
        """The max score over 10 minutes of the healthy device with its load (and power) moved by `shift`."""
        device = envelope.load(state)
        assert device is not None
        scores = []
        for k in range(120):
            values = {s: v for s, v in healthy(rng).items() if s in sensors}
            values |= {"load_pct": values["load_pct"] + shift, "power_w": values["power_w"] + 1.5 * shift}
            scores.append(device.update((1_500 + k) * CADENCE, values).score)
        return max(scores)

    assert held(+30.0) >= ALERT_THRESHOLD
    assert held(-30.0) < ALERT_THRESHOLD


def test_a_prediction_miss_counts_less_while_its_typical_miss_is_young() -> None:
    from streams.model.predictor import Predictors

    surprises = []
    for history in (30, 3_000):
        predictors = Predictors(1)
        for k in range(history):  # 49, 51, 49, ...: the same typical miss however long the history
            predictors.surprise(0, 50.0 + (-1) ** (k + 1), k * CADENCE, 0.0, False)
        surprises.append(predictors.surprise(0, 57.0, history * CADENCE, 0.0, False))
    young, old = surprises
    assert 0 < young < old - 2  # the same miss is far less telling after 30 readings than after 3,000


def test_the_cadence_is_a_float_from_the_first_gap() -> None:
    """The compiled model stores it typed float; the Python source must store the same envelope bytes."""
    model, rng = DeviceModel("pc"), random.Random(7)
    model.update(1_000, healthy(rng))
    model.update(6_000, healthy(rng))
    assert type(model.cadence_ms) is float and model.cadence_ms == 5_000.0


def test_a_stuck_sensor_alerts_and_its_first_moving_reading_is_not_stuck() -> None:
    """A thermometer that repeats one value alerts as stuck; once it moves again (repaired, back after a gap)
    that reading is not called stuck, though its recent movement is still far below usual."""
    model, rng = DeviceModel("pc"), random.Random(19)
    run(model, rng, 1_000)
    stuck = [model.update((1_000 + k) * CADENCE, healthy(rng) | {"temperature_c": 51.3}) for k in range(360)]
    assert max(a.score for a in stuck) >= ALERT_THRESHOLD
    assert any("stopped changing" in r.detail for a in stuck for r in a.reasons)
    back = model.update((1_360 + 180) * CADENCE, healthy(rng) | {"temperature_c": 51.35})  # 15 min later, moving
    assert back.score < ALERT_THRESHOLD
    assert not any("stopped changing" in r.detail for r in back.reasons)
