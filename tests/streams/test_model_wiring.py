"""The worker's model wiring without Kafka: model state rides in the device's table value (and its replay
guard), label/feedback events teach it through `Processor.learn`, scores carry the model's fields, the
per-device metrics expose reasons and window stats, and priors from several workers merge per type."""

from __future__ import annotations

import random

import msgspec
import pytest
from prometheus_client.core import GaugeMetricFamily

from schemas import Reading, Score, encode
from schemas.events import FailureLabel, Feedback, Liveness
from streams import priors
from streams.metrics import Snapshot, SnapshotCollector
from streams.model import envelope, service, telemetry
from streams.model.detector import MODEL_NAME, PRIOR_WARMUP, DeviceModel
from streams.processor import Processor, Record
from streams.scoring import CHECKPOINT_READINGS, BaselineScorer, ModelScorer
from streams.state import DeviceState, decode_state

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


def _model(table: dict[str, bytes], device_id: str) -> DeviceModel:
    """The device's model as the table stores it: its envelope plus the readings learned since."""
    state = decode_state(table[device_id])
    model = service.load(state.model_state, state.model_pending)
    assert model is not None
    return model


def _scorer(cached: int) -> ModelScorer:
    return ModelScorer(cached_devices=cached)


@pytest.mark.parametrize("cached", [0, 100], ids=["envelope-every-batch", "kept-with-pending-readings"])
def test_model_state_lives_in_the_device_state_and_replays_are_not_learned_twice(cached: int) -> None:
    rng, table = random.Random(1), {}
    readings = [_reading(k, rng) for k in range(300)]
    scores = _feed(Processor(lateness_ms=10_000, scorer=_scorer(cached)), table, readings, offset=0, size=7)
    assert all(s.model == MODEL_NAME for s in scores)
    assert scores[0].warming_up is True and scores[-1].warming_up is False
    assert _model(table, "d0").seen == 300
    # a fresh process (after a crash) replays the last 100 records on top of the recovered table
    replay = Processor(lateness_ms=10_000, scorer=_scorer(cached))
    assert _feed(replay, table, readings[-100:], offset=200) == []
    assert _model(table, "d0").seen == 300  # not learned again
    _feed(replay, table, [_reading(k, rng) for k in range(300, 310)], offset=300)
    assert _model(table, "d0").seen == 310  # continues, no reset


def test_a_kept_model_stores_its_envelope_every_few_readings_and_restores_to_the_same_bits() -> None:
    rng = random.Random(11)
    readings = [_reading(k, rng) for k in range(400)]
    plain_table: dict[str, bytes] = {}
    plain = _feed(Processor(lateness_ms=10_000, scorer=_scorer(0)), plain_table, readings, offset=0, size=3)
    table: dict[str, bytes] = {}
    kept = Processor(lateness_ms=10_000, scorer=_scorer(10))
    scores = _feed(kept, table, readings[:250], offset=0, size=3)
    state = decode_state(table["d0"])
    assert 0 < len(state.model_pending) < CHECKPOINT_READINGS  # an envelope from a few batches ago, plus these
    assert envelope.load(state.model_state).seen == 250 - len(state.model_pending)
    restarted = Processor(lateness_ms=10_000, scorer=_scorer(10))  # after a crash: restored from the table
    scores += _feed(restarted, table, readings[250:], offset=250, size=3)
    assert [(s.score, s.reasons) for s in scores] == [(s.score, s.reasons) for s in plain]
    assert envelope.dump(_model(table, "d0")) == envelope.dump(_model(plain_table, "d0"))


def test_a_pending_reading_that_does_not_fit_is_skipped_and_counted() -> None:
    rng, table = random.Random(12), {}
    _feed(Processor(lateness_ms=10_000, scorer=_scorer(10)), table, [_reading(k, rng) for k in range(40)], 0, 3)
    state = decode_state(table["d0"])
    assert state.model_pending
    skipped = telemetry.envelope_rejections.labels("pending_input")
    before = skipped._value.get()
    state.model_pending = [b"\xc1", msgspec.msgpack.encode((1, None, (1.0,))), *state.model_pending]
    model = service.load(state.model_state, state.model_pending)
    assert model is not None and model.seen == 40  # the two that do not fit were skipped, the rest learned
    assert skipped._value.get() == before + 2


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
    before = decode_state(table["d0"])
    scores = _feed(Processor(lateness_ms=10_000, scorer=BaselineScorer()), table, [_reading(50, rng)], offset=50)
    assert scores[0].model == "baseline-limits-v1" and scores[0].warming_up is None
    after = decode_state(table["d0"])
    assert (after.model_state, after.model_pending) == (before.model_state, before.model_pending)


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
    assert scorer.open("new-device", DeviceState(device_type="pc")).model.warmup == PRIOR_WARMUP


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
    # The cache changes when envelopes are stored, never what the stored states stand for.
    assert any(decode_state(raw).model_pending for raw in cached_table.values())
    assert not any(decode_state(raw).model_pending for raw in plain_table.values())
    for device_id, raw in plain_table.items():
        cached_state, plain_state = decode_state(cached_table[device_id]), decode_state(raw)
        assert envelope.dump(_model(cached_table, device_id)) == envelope.dump(_model(plain_table, device_id))
        for state in (cached_state, plain_state):
            state.model_state, state.model_pending = b"", []
        assert cached_state == plain_state


def test_a_kept_model_is_reused_only_for_the_state_it_was_stored_as() -> None:
    scorer, rng = ModelScorer(cached_devices=2), random.Random(1)
    state = DeviceState(device_type="pc")
    handle = scorer.open("a", state)
    scorer.close("a", handle, state)
    assert state.model_state and not state.model_pending  # restored afresh: stored at once
    again = scorer.open("a", state)
    assert again.model is handle.model and scorer.decoded.hits == 1
    scorer.score(again, _reading(0, rng, "a"), None, 0)  # type: ignore[arg-type]
    scorer.close("a", again, state)
    assert len(state.model_pending) == 1  # kept: the reading rides in the state, the envelope waits
    elsewhere = DeviceState(device_type="pc", model_state=state.model_state)  # the table holds another state now
    other = scorer.open("a", elsewhere)
    assert other.model is not handle.model and other.model.seen == 0 and scorer.decoded.misses == 1
    for device in ("b", "c", "d"):  # capacity 2: the least recently stored goes first
        blank = DeviceState(device_type="pc")
        scorer.close(device, scorer.open(device, blank), blank)
    assert len(scorer.decoded) == 2
