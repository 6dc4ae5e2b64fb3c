"""The model's exact output on a seeded simulator stream, pinned: a speed-up must not change a single bit.

Every score (value, reasons, warming-up, time to limit, drift; encoded as the worker publishes it) and
every device's envelope bytes at checkpoints are hashed, per stretch of the stream, and compared with
`golden.json`. The stream has several device types, injected failures with their delayed labels, people's
feedback on alerts, a supervised half that gets ready, and models reloaded from their envelopes half-way.

A deliberate change of the model's behaviour changes these hashes: re-record them with
`.venv/bin/python -m tests.streams.model.test_golden` and say why in the commit. The hashes rely on the
platform's libm (erfc, log10) giving the same bits, as it does on the machines this project runs on.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from producers.fleet import Fleet, to_readings
from schemas import FailureLabel, encode
from schemas.events import Feedback
from streams.model import envelope
from streams.model.detector import ALERT_THRESHOLD, DeviceModel
from streams.model.service import ModelService

GOLDEN = Path(__file__).with_name("golden.json")
DEVICES, ROUNDS, STRETCH = 8, 1_500, 250  # 12k readings; a hash per 250 rounds (~21 min of event time)
START_MS, CADENCE_MS = 1_767_225_600_000, 5_000
RELOAD_AT = 750  # every model goes through its envelope here, as after a restart


def run() -> dict[str, Any]:
    fleet = Fleet(DEVICES, 21, cadence_ms=CADENCE_MS, failure_rate_per_hour=0.8)
    fleet.start(START_MS)
    service = ModelService()
    models: dict[str, DeviceModel] = {}
    alerts: list[tuple[str, int, int]] = []  # (device, alert ts, round): judged 30 rounds later
    scores, dumps = hashlib.sha256(), []
    stretches: list[str] = []
    counts = {"alerts": 0, "drift": 0, "supervised": 0, "labels_learned": 0, "feedback_learned": 0}
    for r in range(ROUNDS):
        if r == RELOAD_AT:
            reloaded = {device: envelope.load(envelope.dump(model)) for device, model in models.items()}
            models = {device: model for device, model in reloaded.items() if model is not None}
        for reading in to_readings(fleet, fleet.step(START_MS + r * CADENCE_MS)):
            model = models.get(reading.device_id)
            if model is None:
                model = models[reading.device_id] = service.open(reading.device_type, None)
            score, assessment = service.score(model, reading, now_ms=0)
            scores.update(encode(score))
            counts["supervised"] += assessment.supervised is not None
            counts["drift"] += assessment.drift
            if score.score >= ALERT_THRESHOLD:
                counts["alerts"] += 1
                alerts.append((reading.device_id, reading.ts, r))
        for event in fleet.take_events():
            if isinstance(event, FailureLabel) and event.device_id in models:
                counts["labels_learned"] += service.learn(models[event.device_id], event)
        for i, (device, ts, at) in enumerate(alerts):
            if at == r - 30:
                verdict = "right" if i % 2 else "wrong"
                feedback = Feedback(device_id=device, ts=ts + 1, alert_ts=ts, verdict=verdict)
                counts["feedback_learned"] += service.learn(models[device], feedback)
        if r % STRETCH == STRETCH - 1:
            stretches.append(scores.hexdigest())
            state = hashlib.sha256(b"".join(envelope.dump(models[d]) for d in sorted(models)))
            dumps.append(state.hexdigest())
    return {"scores_sha256": stretches, "envelopes_sha256": dumps, "counts": counts}


def test_scores_and_envelopes_are_bit_identical_to_the_recorded_run() -> None:
    got, want = run(), json.loads(GOLDEN.read_text())
    # The stream exercises what it claims to (else the hashes would pin little).
    counts = got["counts"]
    assert counts["alerts"] and counts["drift"] and counts["supervised"], counts
    assert counts["labels_learned"] and counts["feedback_learned"], counts
    pairs = zip(got["scores_sha256"], want["scores_sha256"], strict=True)
    first = next((i for i, (a, b) in enumerate(pairs) if a != b), None)
    assert first is None, f"scores differ from the recorded run from rounds {first * STRETCH}..{(first + 1) * STRETCH}"
    assert got["envelopes_sha256"] == want["envelopes_sha256"], "stored envelope bytes differ from the recorded run"
    assert got["counts"] == want["counts"]


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(run(), indent=1) + "\n")
    print(f"wrote {GOLDEN}")
