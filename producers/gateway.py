"""Gateway mode: canonical readings of any devices over HTTP, for third-party producers (a site gateway, an
MQTT bridge) that should not have to build batch envelopes or speak Kafka themselves.

`POST /gateway/readings` on the ingestion server takes one Reading JSON object or a JSON array of them
(schemas/readings.py, any device ids, in any order). Each reading is validated as the worker would (schema,
plausibility, event time against the server's clock) and goes through the same per-partition coalescer as
phone pushes, so it reaches Kafka inside a batch envelope; the answer (200) comes only after Kafka
acknowledged every accepted reading. Invalid elements are dead-lettered one by one with their reason and
listed in the answer by position: they are final, re-sending them does not help. On 503 the whole request
may be re-sent: the worker skips a reading it already applied (same device and event time).

A gateway authenticates with a bearer token whose tokens-file entry is named `gateway:<name>`; such a
token pushes for any device here and for none on `/push`.
"""

from __future__ import annotations

import asyncio
import time
from typing import NamedTuple

from prometheus_client import Counter

from producers.coalescing import Coalescer, NotAcknowledged
from producers.kafka_producer import ReadingProducer
from schemas import InvalidRecord, Reading, decode_reading, encode
from schemas.admission import TimeBounds, check_event_time
from schemas.validation import decode_batch

GATEWAY_PREFIX = "gateway:"
ACK_TIMEOUT_S = 30.0
gateway_readings = Counter(
    "fleetpulse_ingest_gateway_readings",
    "Readings received on the gateway endpoint, by outcome (accepted, dead_lettered).",
    ["outcome"],
)


class Refusal(Exception):
    """The whole request is refused: HTTP status, stable reason, message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


class Refused(NamedTuple):
    """One refused element: its position in the request (0 for a single object), why, the detail, its bytes."""

    index: int
    reason: str
    error: str
    payload: bytes


def is_gateway(device: str) -> bool:
    """Whether a tokens-file entry names a gateway rather than a phone."""
    return device.startswith(GATEWAY_PREFIX)


def decode_request(body: bytes) -> tuple[list[tuple[int, Reading]], list[Refused]]:
    """(position, reading) of each schema-valid element and each refused one. Raises Refusal(400) when the
    body is not one Reading object or a non-empty array of elements."""
    if body.lstrip()[:1] != b"[":
        try:
            return [(0, decode_reading(body))], []
        except InvalidRecord as error:
            if error.reason == "bad_json":
                raise Refusal(400, error.reason, error.error) from None
            return [], [Refused(0, error.reason, error.error, body)]
    readings, rejects = decode_batch(body)
    whole = next((r for r in rejects if r.index is None), None)
    if whole is not None:
        raise Refusal(400, whole.error.reason, whole.error.error)
    bad = {r.index for r in rejects}
    good = (i for i in range(len(readings) + len(rejects)) if i not in bad)  # decode_batch keeps the order
    refused = [Refused(r.index or 0, r.error.reason, r.error.error, r.payload) for r in rejects]
    return list(zip(good, readings, strict=True)), refused


class Gateway:
    def __init__(self, producer: ReadingProducer, coalescer: Coalescer, time_bounds: TimeBounds) -> None:
        self.producer, self.coalescer, self.time_bounds = producer, coalescer, time_bounds

    async def accept(self, gateway: str, body: bytes) -> dict[str, object]:
        """Dead-letter the bad elements, produce the good; the answer once Kafka acknowledged them all."""
        try:
            decoded, refused = decode_request(body)
        except Refusal as refusal:
            self.producer.dead_letter(gateway, body, refusal.reason, refusal.message)
            raise
        readings = self._within_time_bounds(decoded, refused)
        for element in refused:
            self.producer.dead_letter(gateway, element.payload, element.reason, element.error)
        gateway_readings.labels("dead_lettered").inc(len(refused))
        await self._produce(readings)
        gateway_readings.labels("accepted").inc(len(readings))
        refused.sort()
        return {
            "accepted": len(readings),
            "rejected": [{"index": e.index, "reason": e.reason, "error": e.error} for e in refused],
        }

    def _within_time_bounds(self, decoded: list[tuple[int, Reading]], refused: list[Refused]) -> list[Reading]:
        """The readings dated within the bounds around the server's clock; the others join `refused`."""
        now_ms, admitted = int(time.time() * 1000), []
        for index, reading in decoded:
            try:
                check_event_time(reading.ts, now_ms, self.time_bounds)
            except InvalidRecord as error:
                refused.append(Refused(index, error.reason, error.error, encode(reading)))
                continue
            admitted.append(reading)
        return admitted

    async def _produce(self, readings: list[Reading]) -> None:
        pairs = [(reading.device_id.encode(), encode(reading)) for reading in readings]
        try:
            await asyncio.wait_for(self.coalescer.send_many(pairs), timeout=ACK_TIMEOUT_S)
        except (NotAcknowledged, TimeoutError) as error:
            raise Refusal(503, "kafka_unavailable", f"Kafka did not acknowledge: {error}") from None
