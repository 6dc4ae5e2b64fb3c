"""Phone ingestion fuzzed over real HTTP into the real Kafka: every push is answered with 200 (and its
reading is on the topic, dated within the event-time bounds of the server's clock) or with a 4xx and a
JSON reason; never a 5xx, never a crash, never a reading dated 1970 or 2083 on the topic."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from core.settings import Settings
from core.topics import create_topics
from schemas import decode_reading
from tests.conftest import isolated_settings
from tests.harness import consume, free_port, start_ingest

pytestmark = pytest.mark.integration
PUSHES = 400
APP_ID = "FUZZ-PHONE-0001"
TOKEN = "fuzz-token-0123456789"
FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "sensor_logger_ios.json").read_text())


@pytest.fixture(scope="module")
def server(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, str]]:
    tokens = tmp_path_factory.mktemp("fuzz") / "tokens.json"
    tokens.write_text(json.dumps({f"phone-{APP_ID}": TOKEN}))
    settings = isolated_settings(
        stack,
        ingest_port=free_port(),
        ingest_metrics_port=free_port(),
        ingest_tokens_file=str(tokens),
        ingest_max_body_bytes=8192,
        ingest_rate_per_minute=100_000,
        event_time_max_age_seconds=7 * 86400.0,  # the production bound: fuzzed times are relative to now
    )
    create_topics(settings, [settings.topic_readings, settings.topic_dead_letters])
    process, url = start_ingest(settings, f"ingest-fuzz-{settings.ingest_port}")
    yield settings, url
    assert process.alive(), process.log()
    process.stop()


def _push(rng: random.Random, now_ns: int) -> tuple[str, bytes, set[int]]:
    """(kind, body, acceptable statuses)"""
    body = json.loads(json.dumps(FIXTURE)) | {"deviceId": APP_ID}
    kind = rng.choice(["good", "seconds", "millis", "micros", "future", "past", "bytes", "types", "nan", "huge"])
    times = {
        "good": now_ns - rng.randrange(0, 60 * 10**9),
        "seconds": now_ns // 10**9,
        "millis": now_ns // 10**6,
        "micros": now_ns // 10**3,
        "future": now_ns + rng.choice([3600, 86400 * 365 * 57]) * 10**9,
        "past": now_ns - 30 * 86400 * 10**9,
    }
    if kind in times:
        for sample in body["payload"]:
            sample["time"] = times[kind]
        expected = {"good": {200}, "future": {422}, "past": {422}}.get(kind, {422})
        return kind, json.dumps(body).encode(), expected
    if kind == "bytes":
        return kind, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))), {400}
    if kind == "types":
        body["payload"][0]["time"] = rng.choice(["now", None, [1], 1.5e30])
        return kind, json.dumps(body).encode(), {400, 422}
    if kind == "nan":
        return kind, json.dumps(body).replace("0.41", rng.choice(["NaN", "Infinity", "1e999"])).encode(), {400, 422}
    return kind, json.dumps(body | {"pad": "x" * 20_000}).encode(), {413}


def test_every_fuzzed_push_is_answered_and_only_admissible_readings_land(server: tuple[Settings, str]) -> None:
    settings, url = server
    rng = random.Random(17)
    outcomes: Counter[tuple[str, int, str]] = Counter()
    wrong = []
    for _ in range(PUSHES):
        kind, body, expected = _push(rng, time.time_ns())
        response = requests.post(f"{url}/push", data=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        reason = "" if response.status_code == 200 else response.json()["reason"]
        outcomes[(kind, response.status_code, reason)] += 1
        if response.status_code not in expected:
            wrong.append((kind, response.status_code, response.text[:200]))
    print("\n".join(f"{k}: {n}" for k, n in sorted(outcomes.items())))  # shown with -s
    assert not wrong, wrong[:5]
    assert outcomes[("millis", 422, "not_nanoseconds")] and outcomes[("future", 422, "future_time")]
    landed = sum(n for (_, status, _), n in outcomes.items() if status == 200)
    now_ms = int(time.time() * 1000)
    readings = [decode_reading(m.value()) for m in consume(settings, settings.topic_readings, landed, timeout=60)]
    assert len(readings) == landed
    assert all(now_ms - 7 * 86_400_000 <= r.ts <= now_ms + 300_000 for r in readings), "only plausible times land"
