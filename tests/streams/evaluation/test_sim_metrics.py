"""Simulator-evaluation metrics on hand-made cases, and `fleetpulse eval sim` end to end on a tiny fleet."""

from __future__ import annotations

import math

from click.testing import CliRunner

from streams.evaluation import sim_metrics, sim_run
from streams.evaluation.commands import evaluate
from streams.evaluation.sim_metrics import Failure

MIN = 60_000


def series(scores: list[float], step_ms: int = MIN) -> list[tuple[int, float]]:
    return [(k * step_ms, s) for k, s in enumerate(scores)]


def test_alerts_are_rising_edges_debounced_until_the_score_stays_low() -> None:
    # Above at 1-3 (one alert), dips at 4 for one minute and returns (same episode: rearm needs 10 min),
    # stays low 6..16, then a new crossing at 17.
    scores = [0, 0.9, 0.9, 0.9, 0.1, 0.9] + [0.1] * 11 + [0.7]
    assert sim_metrics.alert_times(series(scores), 0.6, rearm_ms=10 * MIN) == [MIN, 17 * MIN]
    assert sim_metrics.alert_times(series(scores), 0.8, rearm_ms=10 * MIN) == [MIN]
    assert sim_metrics.alert_times(series(scores), 0.6, rearm_ms=0) == [MIN, 5 * MIN, 17 * MIN]


def test_recall_precision_lead_and_false_alert_rate_on_a_hand_made_fleet() -> None:
    failures = [
        Failure("a", "fan_failure", onset_ts=10 * MIN, failure_ts=60 * MIN),  # alerted at 20 and 50: lead 40
        Failure("b", "fan_failure", onset_ts=0, failure_ts=30 * MIN),  # alerted at 25: lead 5
        Failure("c", "fan_failure", onset_ts=0, failure_ts=30 * MIN),  # missed
        Failure("d", "overload", onset_ts=0, failure_ts=30 * MIN),  # another mode, alerted at 1
    ]
    alerts = {
        "a": [5 * MIN, 20 * MIN, 50 * MIN, 70 * MIN],  # 5 and 70 are outside the window: false
        "b": [25 * MIN],
        "c": [],
        "d": [MIN],
        "e": [3 * MIN, 90 * MIN],  # healthy device; 90 is after its censored onset: not judged
    }
    hits, false = sim_metrics.classify(alerts, failures, censored={"e": 80 * MIN})
    assert false == 3
    m = sim_metrics.mode_metrics("fan_failure", failures, hits, false, device_hours=500.0)
    assert (m.failures, m.detected, m.true_alerts) == (3, 2, 3)
    assert math.isclose(m.recall, 2 / 3)
    assert math.isclose(m.precision, 3 / 6)
    assert math.isclose(m.median_lead_min, (40 + 5) / 2)
    assert math.isclose(m.false_per_1000h, 6.0)
    empty = sim_metrics.mode_metrics("stuck_sensor", failures, hits, 0, 0.0)
    assert empty.failures == 0 and math.isnan(empty.recall) and math.isnan(empty.precision)


def test_a_replay_labels_every_failure_and_measures_against_them() -> None:
    plan = sim_run.Plan(devices=8, hours=2.0, warmup_hours=0.2, failures_per_device_hour=2.0)
    run = sim_run.replay("overload", sim_run.LimitsScorer(), plan, seed=3)
    assert run.failures and all(f.mode == "overload" and f.onset_ts < f.failure_ts for f in run.failures)
    assert math.isclose(run.device_hours, sum(len(s) for s in run.series.values()) * 5 / 3600)
    # Overload pins the load near 100 %, past its warning: the limits rule sees it before the failure.
    m = sim_run.measure(run, threshold=0.5)
    assert m.detected >= 1 and all(lead > 0 for lead in m.leads_s)


def test_eval_sim_command_prints_a_table_per_scorer() -> None:
    result = CliRunner().invoke(
        evaluate, ["sim", "--quick", "--mode", "stuck_sensor", "--scorer", "limits_rule", "--seed", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "limits_rule @ θ=0.7" in result.output and "stuck_sensor" in result.output
    bad = CliRunner().invoke(evaluate, ["sim", "--quick", "--mode", "nope"])
    assert bad.exit_code != 0 and "unknown mode" in bad.output


def test_the_model_scorer_replays_through_the_service_with_envelopes_labels_and_priors() -> None:
    plan = sim_run.Plan(devices=8, hours=2.0, warmup_hours=0.5, failures_per_device_hour=1.0)
    scorer = sim_run.ModelScorer()
    run = sim_run.replay("fan_failure", scorer, plan, seed=4)
    fleet = scorer.fleet
    assert len(fleet.stored) == 8 and all(isinstance(raw, bytes) for _, raw in fleet.stored.values())
    assert fleet.service.priors  # aggregated and set once an hour of event time
    m = sim_run.measure(run, threshold=sim_run.OPERATING_THRESHOLD)
    assert m.failures and m.detected == m.failures and m.false_alerts == 0


def test_the_replay_ends_a_batch_each_minute_and_sets_priors_each_hour_of_event_time_at_any_cadence() -> None:
    def ends(cadence_ms: int, period_ms: int, rounds: int) -> list[int]:
        return [r for r in range(rounds) if sim_run._crossed((r + 1) * cadence_ms, cadence_ms, period_ms)]

    assert ends(5_000, sim_run.BATCH_MS, 36) == [11, 23, 35]  # every 12th round at 5 s
    assert ends(5_000, sim_run.PRIOR_MS, 1_440) == [719, 1_439]
    assert ends(1_000, sim_run.BATCH_MS, 120) == [59, 119]
    assert ends(7_000, sim_run.BATCH_MS, 18) == [8, 17]  # 63 s and 126 s: the first round past each minute
