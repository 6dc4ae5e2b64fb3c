"""The worker's model wiring without Kafka: model state rides in the device's table value (and its replay
guard), label/feedback events teach it through `Processor.learn`, scores carry the model's fields, the
per-device metrics expose reasons and window stats, and priors from several workers merge per type."""

from __future__ import annotations

import random

import msgspec
from prometheus_client.core import GaugeMetricFamily

from schemas import Reading, Score, encode
from schemas.events import FailureLabel, Feedback, Liveness
from streams import priors
from streams.metrics import Snapshot, SnapshotCollector
from streams.model import envelope
from streams.model.detector import MODEL_NAME, PRIOR_WARMUP
from streams.processor import Processor, Record
from streams.scoring import BaselineScorer, ModelScorer
from streams.state import decode_state

CADENCE = 5_000
T0 = 1_795_000_020_000 - 1_795_000_020_000 % 60_000


def _reading(k: int, rng: random.Random, device: str = "d0") -> Reading:
    load = 40 + rng.gauss(0, 5)
    return Reading(
        device_id=device,
        device_type="pc",
        ts=T0 + k * CADENCE,
        seq=k,
        temperature_c=50 + 0.2 * (load - 40) + rng.gauss(0, 0.5),
        power_w=60 + 1.5 * load + rng.gauss(0, 0.5),
        load_pct=load,
        voltage_v=12 + rng.gauss(0, 0.05),
        fan_cfm=35 + rng.gauss(0, 0.5),
        clock_ghz=3.6,
    )


def _feed(processor: Processor, table: dict[str, bytes], readings: list[Reading], offset: int, size: int = 50):
    scores = []
    for first in range(0, len(readings), size):
        batch = [Record(0, offset + first + i, encode(r)) for i, r in enumerate(readings[first : first + size])]
        result = processor.process(batch, lambda d, _p: table.get(d))
        table.update({d: v for d, (_, v) in result.writes.items()})
        scores += [msgspec.json.decode(v, type=Score) for _, v in result.scores]
    return scores


def _learn(processor: Processor, table: dict[str, bytes], events: list[object], offset: int):
    batch = [Record(0, offset + i, encode(e)) for i, e in enumerate(events)]
    result = processor.learn(batch, lambda d, _p: table.get(d))
    table.update({d: v for d, (_, v) in result.writes.items()})
    return result


def test_model_state_lives_in_the_device_state_and_replays_are_not_learned_twice() -> None:
    rng, table = random.Random(1), {}
    readings = [_reading(k, rng) for k in range(300)]
    scores = _feed(Processor(lateness_ms=10_000), table, readings, offset=0)
    assert all(s.model == MODEL_NAME for s in scores)
    assert scores[0].warming_up is True and scores[-1].warming_up is False
    model = envelope.load(decode_state(table["d0"]).model_state)
    assert model is not None and model.seen == 300
    # a fresh process (after a crash) replays the last 100 records on top of the recovered table
    replay = Processor(lateness_ms=10_000)
    assert _feed(replay, table, readings[-100:], offset=200) == []
    assert envelope.load(decode_state(table["d0"]).model_state).seen == 300  # not learned again
    _feed(replay, table, [_reading(k, rng) for k in range(300, 310)], offset=300)
    assert envelope.load(decode_state(table["d0"]).model_state).seen == 310  # continues, no reset


def test_feedback_changes_the_next_score_and_a_replayed_event_is_skipped() -> None:
    rng = random.Random(2)
    readings = [_reading(k, rng) for k in range(800)]
    nxt = _reading(800, rng)
    table: dict[str, bytes] = {}
    _feed(Processor(lateness_ms=10_000), table, readings, offset=0)
    taught = dict(table)
    events = [
        Liveness(device_id="d0", ts=T0, state="late"),  # not for the model: skipped, not rejected
        FailureLabel(
            device_id="d0",
            ts=T0 + 700 * CADENCE,
            mode="overload",
            onset_ts=T0 + 600 * CADENCE,
            failure_ts=T0 + 700 * CADENCE,
        ),
    ] + [
        Feedback(device_id="d0", ts=T0 + 800 * CADENCE, alert_ts=T0 + k * CADENCE, verdict="right")
        for k in range(710, 800, 4)
    ]
    learner = Processor(lateness_ms=10_000)
    result = _learn(learner, taught, events, offset=0)
    assert result.learned == len(events) - 1 and not result.rejects and result.unknown == 0
    plain = _feed(Processor(lateness_ms=10_000), dict(table), [nxt], offset=800)[0]
    after = _feed(Processor(lateness_ms=10_000), dict(taught), [nxt], offset=800)[0]
    assert after.score != plain.score  # the supervised half now has its say
    again = _learn(learner, taught, events, offset=0)
    assert again.replayed == len(events) - 1 and again.learned == 0
    stranger = FailureLabel(device_id="nobody", ts=1, mode="overload", onset_ts=0, failure_ts=1)
    unknown = _learn(learner, taught, [stranger], offset=100)
    assert unknown.unknown == 1 and unknown.writes == {}
    bad = learner.learn([Record(0, 200, b"{nope")], lambda d, _p: taught.get(d))
    assert [e.reason for _, e in bad.rejects] == ["bad_json"]


def test_baseline_scorer_keeps_the_stored_model_bytes() -> None:
    rng, table = random.Random(3), {}
    _feed(Processor(lateness_ms=10_000), table, [_reading(k, rng) for k in range(50)], offset=0)
    before = decode_state(table["d0"]).model_state
    scores = _feed(Processor(lateness_ms=10_000, scorer=BaselineScorer()), table, [_reading(50, rng)], offset=50)
    assert scores[0].model == "baseline-limits-v1" and scores[0].warming_up is None
    assert decode_state(table["d0"]).model_state == before


def test_metrics_expose_reasons_and_the_latest_closed_window_of_the_snapshot_devices() -> None:
    rng, table = random.Random(4), {}
    processor = Processor(lateness_ms=0)
    _feed(processor, table, [_reading(k, rng) for k in range(30)], offset=0)  # 2.5 minutes: 2 minutes closed
    _, score = processor.latest["d0"]
    window = processor.last_window["d0"]
    assert window["temperature_c"].count == 12
    collector = SnapshotCollector()
    collector.snapshot = Snapshot(
        devices=[("d0", {}, score.score, 0)],
        reasons=[("d0", {"temperature_c": 0.4})],
        windows=[("d0", window)],
    )
    families: dict[str, GaugeMetricFamily] = {f.name: f for f in collector.collect()}
    reason = families["fleetpulse_worker_device_reason_contribution"].samples
    assert [(s.labels, s.value) for s in reason] == [({"device_id": "d0", "sensor": "temperature_c"}, 0.4)]
    stats = {
        (s.labels["sensor"], s.labels["stat"]): s.value
        for s in families["fleetpulse_worker_device_window_stat"].samples
    }
    assert stats[("temperature_c", "mean")] == window["temperature_c"].mean
    assert {stat for _, stat in stats} == {"mean", "min", "max", "std", "slope_per_s"}


def test_priors_from_several_workers_merge_per_type_and_warm_start_new_devices() -> None:
    rng = random.Random(5)
    entries: dict[bytes, bytes] = {}
    for worker in ("w1", "w2"):
        table: dict[str, bytes] = {}
        readings = [_reading(k, rng, f"{worker}-{d}") for k in range(200) for d in range(3)]
        _feed(Processor(lateness_ms=10_000), table, readings, offset=0, size=300)
        models = priors.local_models(table.values(), per_type=2)
        assert len(models) == 2  # bounded per type
        entries.update(priors.publish(ModelScorer().service.aggregate(models), worker, now_ms=1_000))
    entries[b"junk|w3"] = b"not a prior"
    merged = priors.merged(entries, max_age_ms=10_000, now_ms=2_000)
    assert len(merged) == 1 and merged[0].devices == 4 and merged[0].device_type == "pc"
    assert priors.merged(entries, max_age_ms=10_000, now_ms=20_000) == []  # stale entries stop counting
    scorer = ModelScorer()
    scorer.service.set_prior(merged[0])
    assert scorer.open("new-device", "pc", b"").warmup == PRIOR_WARMUP


def test_models_kept_decoded_score_exactly_like_models_decoded_every_batch() -> None:
    rng = random.Random(9)
    readings = [_reading(k, rng, f"d{d}") for k in range(150) for d in range(4)]
    at = T0 + 140 * CADENCE
    label = FailureLabel(device_id="d1", ts=at, mode="fan_failure", onset_ts=at - 20 * CADENCE, failure_ts=at)
    runs = []
    for cached in (0, 100):
        processor, table = Processor(lateness_ms=10_000, scorer=ModelScorer(cached_devices=cached)), {}
        scores = _feed(processor, table, readings[:300], offset=0, size=40)
        _learn(processor, table, [label], offset=0)  # learning goes through the cache too
        scores += _feed(processor, table, readings[300:], offset=300, size=40)
        runs.append((scores, table))
    (plain, plain_table), (cached, cached_table) = runs
    assert [(s.device_id, s.score, s.reasons) for s in cached] == [(s.device_id, s.score, s.reasons) for s in plain]
    assert cached_table == plain_table  # the same bytes stored: the cache never changes what is persisted


def test_a_kept_model_is_reused_only_for_the_bytes_it_was_stored_as() -> None:
    scorer = ModelScorer(cached_devices=2)
    model = scorer.open("a", "pc", b"")
    stored = scorer.close("a", model)
    assert scorer.open("a", "pc", stored) is model and scorer.decoded.hits == 1
    scorer.close("a", model)
    changed = ModelScorer()
    elsewhere = changed.open("a", "pc", b"")
    changed.score(elsewhere, _reading(0, random.Random(1), "a"), None, 0)  # type: ignore[arg-type]
    other = scorer.open("a", "pc", envelope.dump(elsewhere))  # the table holds another state now
    assert other is not model and scorer.decoded.misses == 1
    for device in ("b", "c", "d"):  # capacity 2: the least recently stored goes first
        scorer.close(device, scorer.open(device, "pc", b""))
    assert len(scorer.decoded) == 2
