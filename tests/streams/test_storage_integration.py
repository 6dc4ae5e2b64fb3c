"""The worker's store-bound topics on the real local Kafka under the default (aggregated) policy: few scores,
one window row per closed minute, and a status record when a device falls silent."""

from __future__ import annotations

import time
from collections.abc import Iterator

import msgspec
import pytest

from core.settings import Settings
from core.topics import create_topics
from schemas import Reading, encode
from tests.conftest import isolated_settings
from tests.harness import RealProcess, consume, produce_raw, start_worker, wait_worker_ready

pytestmark = pytest.mark.integration

ROUNDS = 180  # 15 event-minutes at 5 s
START_MS = (int(time.time() * 1000) // 60_000 - 30) * 60_000


def _readings(device_id: str, rounds: range) -> list[tuple[bytes | None, bytes]]:
    def reading(r: int) -> bytes:
        ts = START_MS + r * 5_000
        return encode(Reading(device_id=device_id, device_type="raspberry_pi", ts=ts, seq=r, temperature_c=50.0))

    return [(device_id.encode(), reading(r)) for r in rounds]


@pytest.fixture(scope="module")
def worker(stack: Settings) -> Iterator[tuple[Settings, RealProcess]]:
    # the idle event clock runs 60x wall time, so a device that stops is silent (600 event-s) within seconds
    settings = isolated_settings(
        stack, storage_policy="aggregated", worker_event_clock_rate=60.0, worker_scorer="baseline"
    )
    create_topics(settings)
    process = start_worker(settings)
    wait_worker_ready(settings, process)
    yield settings, process
    process.stop()


def test_the_store_topics_hold_few_scores_window_rows_and_a_status_record_on_silence(
    worker: tuple[Settings, RealProcess],
) -> None:
    settings, _ = worker
    produce_raw(settings, settings.topic_readings, _readings("pi-quiet", range(ROUNDS)))

    def silent(messages: list) -> bool:  # type: ignore[type-arg]
        return any(msgspec.json.decode(m.value()).get("liveness") == "silent" for m in messages)

    stored = [msgspec.json.decode(m.value()) for m in consume(settings, settings.topic_scores_store, until=silent)]
    assert all(s["device_id"] == "pi-quiet" for s in stored)
    on_time = [s for s in stored if s["liveness"] == "on_time"]
    assert len(on_time) >= 3  # the first, then one per 5 event-min heartbeat
    assert len(stored) <= ROUNDS // 10, [(s["ts"], s["liveness"]) for s in stored]  # not one per reading
    silence = [s for s in stored if s["liveness"] == "silent"]
    assert silence[0]["ts"] == START_MS + (ROUNDS - 1) * 5_000  # the newest score, with the new verdict

    # minutes 0-13 closed (the watermark, 895 s, passed their end + 10 s lateness); minute 14 is still open
    rows = consume(settings, settings.topic_windows_store, expected=14, timeout=30)
    starts = sorted(msgspec.json.decode(m.value())["ts"] for m in rows)
    assert starts == [START_MS + m * 60_000 for m in range(14)]
    assert len(consume(settings, settings.topic_scores, expected=ROUNDS, timeout=30)) == ROUNDS  # the full stream
