"""Gateway mode over real sockets: a real `fleetpulse ingest` takes canonical readings of many devices from a
gateway token, answers after Kafka acknowledged them, and they are on the real readings topic as batch
envelopes on each device's own partition; a bad element is on the dead-letter topic with its reason."""

from __future__ import annotations

import json
import time

import msgspec
import pytest
import requests

from core.partitioning import partition_for
from core.settings import Settings
from core.topics import create_topics
from schemas import DeadLetter, decode_batch
from tests.conftest import isolated_settings
from tests.harness import consume, free_port, start_ingest

pytestmark = pytest.mark.integration
TOKEN = "gateway-token-0123456789"
DEVICES = 60


def test_a_gateway_batch_lands_as_envelopes_on_each_device_s_partition(stack: Settings, tmp_path) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"gateway:site-1": TOKEN}))
    settings = isolated_settings(
        stack,
        ingest_port=free_port(),
        ingest_metrics_port=free_port(),
        ingest_tokens_file=str(tokens),
        ingest_linger_ms=50.0,
    )
    create_topics(settings, [settings.topic_readings, settings.topic_dead_letters])
    server, url = start_ingest(settings, f"gateway-{settings.ingest_port}")
    try:
        now = int(time.time() * 1000)
        body = [
            {"device_id": f"meter-{i:03d}", "device_type": "server", "ts": now, "seq": 0, "load_pct": 10.0 + i}
            for i in range(DEVICES)
        ]
        body.append({"device_id": "meter-bad", "device_type": "server", "ts": now, "seq": 0, "load_pct": 900.0})
        response = requests.post(
            f"{url}/gateway/readings", data=json.dumps(body), headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == DEVICES
        assert [(e["index"], e["reason"]) for e in response.json()["rejected"]] == [(DEVICES, "out_of_range")]
        # acknowledged means stored: every accepted reading is already on the topic
        messages = consume(
            settings,
            settings.topic_readings,
            1,
            until=lambda ms: sum(len(decode_batch(m.value())[0]) for m in ms) >= DEVICES,
        )
        landed = []
        for message in messages:
            readings, rejects = decode_batch(message.value())
            assert not rejects
            partitions = {partition_for(r.device_id.encode(), settings.topic_partitions) for r in readings}
            assert partitions == {message.partition()}  # the envelope rule the worker enforces
            landed += [r.device_id for r in readings]
        assert sorted(landed) == [f"meter-{i:03d}" for i in range(DEVICES)]
        assert len(messages) < DEVICES  # coalesced: envelopes, not one message per reading
        [letter] = consume(settings, settings.topic_dead_letters, 1)
        dead = msgspec.json.decode(letter.value(), type=DeadLetter)
        assert (dead.reason, dead.key) == ("out_of_range", "gateway:site-1") and "meter-bad" in dead.payload
        assert server.alive()
    finally:
        server.stop()
