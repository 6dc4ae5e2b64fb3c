"""The worker-facing adapter: envelope bytes in and out per batch, scores in the scores schema, labels and
feedback events, the fleet prior for new devices, refused envelopes counted and replaced."""

from __future__ import annotations

import random

import msgspec

from schemas import Reading, Score, encode
from schemas.events import FailureLabel, Feedback
from streams.model import envelope
from streams.model.detector import MODEL_NAME, PRIOR_WARMUP
from streams.model.service import ModelService

CADENCE = 5_000


def reading(k: int, rng: random.Random, device_id: str = "dev-1", fan: float | None = None) -> Reading:
    load = 40 + rng.gauss(0, 5)
    return Reading(
        device_id=device_id,
        device_type="pc",
        ts=k * CADENCE,
        seq=k,
        temperature_c=50 + 0.2 * (load - 40) + rng.gauss(0, 0.5),
        power_w=60 + 1.5 * load + rng.gauss(0, 0.5),
        load_pct=load,
        voltage_v=12 + rng.gauss(0, 0.05),
        fan_cfm=fan if fan is not None else 35 + rng.gauss(0, 0.5),
        clock_ghz=3.6,
    )


def batches(service: ModelService, raw: bytes | None, start: int, stop: int, rng: random.Random, size: int = 50):
    """Like the worker: open once per batch, score every reading, close to bytes."""
    scores = []
    for first in range(start, stop, size):
        model = service.open("pc", raw)
        for k in range(first, min(stop, first + size)):
            score, _ = service.score(model, reading(k, rng), now_ms=0)
            scores.append(score)
        raw = service.close(model)
    return raw, scores


def test_scores_are_valid_records_and_state_continues_across_batches() -> None:
    service, rng = ModelService(), random.Random(1)
    raw, scores = batches(service, None, 0, 300, rng)
    assert all(0.0 <= s.score < 1.0 and s.model == MODEL_NAME for s in scores)
    assert msgspec.json.decode(encode(scores[-1]), type=Score) == scores[-1]  # valid scores.v1
    restored = envelope.load(raw)
    assert restored is not None and restored.seen == 300  # the count continued, never reset per batch


def test_a_failure_label_and_feedback_event_teach_the_device_model() -> None:
    service, rng = ModelService(), random.Random(2)
    raw, _ = batches(service, None, 0, 800, rng)
    model = service.open("pc", raw)
    label = FailureLabel(
        device_id="dev-1", ts=800 * CADENCE, mode="fan_failure", onset_ts=600 * CADENCE, failure_ts=800 * CADENCE
    )
    assert service.learn(model, label)
    assert model.supervised.episodes == 1
    verdict = Feedback(device_id="dev-1", ts=801 * CADENCE, alert_ts=700 * CADENCE, verdict="right")
    assert service.learn(model, verdict) and model.supervised.episodes == 2


def test_new_devices_start_from_the_fleet_prior_and_refused_envelopes_restart_them() -> None:
    service, rng = ModelService(), random.Random(3)
    fleet = []
    for _ in range(4):
        raw, _ = batches(service, None, 0, 600, rng)
        fleet.append(envelope.load(raw))
    priors = service.aggregate(fleet)
    assert len(priors) == 1 and priors[0].devices == 4
    service.set_prior(priors[0])
    fresh = service.open("pc", None)
    assert fresh.warmup == PRIOR_WARMUP  # warm-started
    before = envelope.rejections["corrupt"]
    assert service.open("pc", b"not an envelope").warmup == PRIOR_WARMUP
    assert envelope.rejections["corrupt"] == before + 1
    # a device whose persisted model is of another type (re-registered) is not given that model
    other = service.open("raspberry_pi", service.close(fresh))
    assert other.device_type == "raspberry_pi"
