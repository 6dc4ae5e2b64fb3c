"""Gateway mode with a stand-in producer: canonical readings of any devices become per-partition envelopes,
answered only after the delivery report, bad elements dead-lettered one by one by position and reason,
phone tokens refused (the real-socket round trip is in test_gateway_integration.py)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from core.partitioning import partition_for
from producers.coalescing import Coalescer
from producers.gateway import decode_request
from producers.phone_ingest import IngestServer
from schemas import decode_batch

PARTITIONS = 3
GATEWAY_TOKEN = "gateway-token-0123456789"
PHONE_TOKEN = "phone-token-0123456789ab"
TOKENS = {"gateway:site-1": GATEWAY_TOKEN, "phone-abc": PHONE_TOKEN}


class FakeProducer:
    """send_raw reports delivery from another thread after `delay`, like librdkafka's poll thread."""

    def __init__(self, error: str | None = None, delay: float = 0.01) -> None:
        self.sent: list[dict[str, Any]] = []
        self.letters: list[dict[str, Any]] = []
        self.error, self.delay = error, delay

    def send_raw(self, key: bytes, value: bytes, *, partition: int, records: int, on_delivery) -> None:
        self.sent.append({"key": key, "value": value, "partition": partition, "records": records})
        threading.Timer(self.delay, on_delivery, args=(self.error, None)).start()

    def dead_letter(self, key: str | None, payload: bytes, reason: str, error: str) -> None:
        self.letters.append({"key": key, "payload": payload, "reason": reason, "error": error})

    def poll(self, timeout: float = 0) -> None:
        time.sleep(timeout)

    def flush(self, timeout: float = 30.0) -> int:
        return 0


def _reading(device: str, seq: int = 0, **extra: Any) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {"device_id": device, "device_type": "server", "ts": now - seq * 1000, "seq": seq, "load_pct": 5.0} | extra


async def _client(producer: FakeProducer, linger_ms: float = 20) -> TestClient:
    coalescer = Coalescer(producer, PARTITIONS, linger_ms=linger_ms, max_readings=100)
    server = IngestServer(producer, TOKENS, max_body=100_000, per_minute=60, coalescer=coalescer)
    client = TestClient(TestServer(server.app()))
    await client.start_server()
    return client


async def _post(client: TestClient, body: object, token: str = GATEWAY_TOKEN) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await client.post("/gateway/readings", data=data, headers={"Authorization": f"Bearer {token}"})
    return response.status, await response.json()


async def test_many_devices_in_one_request_go_out_as_envelopes_of_their_partitions() -> None:
    producer = FakeProducer()
    client = await _client(producer)
    try:
        devices = [f"meter-{i}" for i in range(30)]
        status, answer = await _post(client, [_reading(d) for d in devices])
    finally:
        await client.close()
    assert status == 200 and answer == {"accepted": 30, "rejected": []}
    assert len(producer.sent) <= PARTITIONS  # one envelope per partition within the linger
    landed = []
    for message in producer.sent:
        readings, rejects = decode_batch(message["value"])
        assert not rejects and message["records"] == len(readings)
        assert {partition_for(r.device_id.encode(), PARTITIONS) for r in readings} == {message["partition"]}
        assert message["key"] == readings[0].device_id.encode()
        landed += [r.device_id for r in readings]
    assert sorted(landed) == sorted(devices)


async def test_a_single_object_is_one_reading() -> None:
    producer = FakeProducer()
    client = await _client(producer, linger_ms=0)
    try:
        status, answer = await _post(client, _reading("meter-1"))
    finally:
        await client.close()
    assert status == 200 and answer["accepted"] == 1
    assert json.loads(producer.sent[0]["value"])["device_id"] == "meter-1"


async def test_bad_elements_are_dead_lettered_by_position_and_the_good_still_produced() -> None:
    producer = FakeProducer()
    client = await _client(producer)
    body = [
        _reading("meter-1"),
        _reading("meter-2", load_pct=900.0),  # out of range
        {"device_id": "meter-3"},  # missing fields
        _reading("meter-4", ts=int(time.time() * 1000) + 86_400_000),  # a day ahead of the server's clock
        _reading("meter-5"),
    ]
    try:
        status, answer = await _post(client, body)
    finally:
        await client.close()
    assert status == 200 and answer["accepted"] == 2
    assert [(e["index"], e["reason"]) for e in answer["rejected"]] == [
        (1, "out_of_range"),
        (2, "missing_field"),
        (3, "future_time"),
    ]
    assert sorted(letter["reason"] for letter in producer.letters) == ["future_time", "missing_field", "out_of_range"]
    assert all(letter["key"] == "gateway:site-1" and letter["payload"] for letter in producer.letters)
    produced = [r.device_id for m in producer.sent for r in decode_batch(m["value"])[0]]
    assert sorted(produced) == ["meter-1", "meter-5"]


async def test_a_body_that_is_not_readings_is_refused_whole_and_dead_lettered() -> None:
    for body, reason in ((b'[{"device_id": ', "bad_json"), (b"[]", "empty_batch")):
        producer = FakeProducer()
        client = await _client(producer)
        try:
            status, answer = await _post(client, body)
        finally:
            await client.close()
        assert (status, answer["reason"]) == (400, reason)
        assert [letter["reason"] for letter in producer.letters] == [reason] and not producer.sent


class HeldProducer(FakeProducer):
    """Holds every delivery report until the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.reports: list[Any] = []
        self.two_sent = threading.Event()

    def send_raw(self, key: bytes, value: bytes, *, partition: int, records: int, on_delivery) -> None:
        self.sent.append({"key": key, "value": value, "partition": partition, "records": records})
        self.reports.append(on_delivery)
        if len(self.reports) >= 2:
            self.two_sent.set()


async def test_no_answer_before_kafka_acknowledged_and_503_when_it_refused() -> None:
    held = HeldProducer()
    client = await _client(held, linger_ms=0)
    try:
        answer = asyncio.ensure_future(_post(client, [_reading("meter-1"), _reading("meter-2")]))
        assert await asyncio.get_running_loop().run_in_executor(None, held.two_sent.wait, 10)
        held.reports[0](None, None)
        await asyncio.sleep(0.1)
        assert not answer.done()  # one of the two messages still unacknowledged
        held.reports[1](None, None)
        status, _ = await answer
    finally:
        await client.close()
    assert status == 200
    client = await _client(FakeProducer(error="broker down"))
    try:
        status, body = await _post(client, [_reading("meter-1")])
    finally:
        await client.close()
    assert (status, body["reason"]) == (503, "kafka_unavailable")


async def test_phone_tokens_cannot_use_the_gateway_nor_gateway_tokens_push_as_a_phone() -> None:
    producer = FakeProducer()
    client = await _client(producer)
    try:
        status, answer = await _post(client, [_reading("meter-1")], token=PHONE_TOKEN)
        push = {"messageId": 1, "sessionId": "s", "deviceId": "gateway:site-1", "payload": []}
        response = await client.post(
            "/push", data=json.dumps(push), headers={"Authorization": f"Bearer {GATEWAY_TOKEN}"}
        )
        phone_status = response.status
    finally:
        await client.close()
    assert (status, answer["reason"]) == (403, "not_a_gateway")
    assert phone_status == 403
    assert not producer.sent


def test_positions_survive_mixed_good_and_bad_elements() -> None:
    body = json.dumps([{"x": 1}, _reading("a"), {"y": 2}, _reading("b")]).encode()
    good, refused = decode_request(body)
    assert [(i, r.device_id) for i, r in good] == [(1, "a"), (3, "b")]
    assert [r.index for r in refused] == [0, 2]
