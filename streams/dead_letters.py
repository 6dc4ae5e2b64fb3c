"""Reject a record to the dead-letter topic with its reason in the value and in headers."""

from __future__ import annotations

import time

import faust

from schemas import DeadLetter, InvalidRecord, encode
from streams import metrics
from streams.app import dead_letters_topic


async def reject(
    event: faust.EventT,
    error: InvalidRecord,
    stage: str = "worker",
    payload: bytes | None = None,
    element: int | None = None,
) -> None:
    """Dead-letter a message, or (payload, element) one element of a batch envelope: only that element's
    bytes are kept, with its position in the `x-batch-index` header."""
    message = event.message
    raw = message.value if isinstance(message.value, bytes) else bytes(message.value or b"")
    if payload is not None:
        raw = payload
    key = message.key.decode(errors="replace") if isinstance(message.key, bytes) else None
    letter = DeadLetter(
        stage=stage,
        reason=error.reason,
        error=error.error,
        source_topic=message.topic,
        source_partition=message.partition,
        source_offset=message.offset,
        key=key,
        payload=raw.decode(errors="replace"),
        rejected_at=int(time.time() * 1000),
    )
    headers = {
        "x-dead-letter-reason": error.reason.encode(),
        "x-dead-letter-error": error.error.encode()[:1000],
        "x-source-topic": message.topic.encode(),
        "x-source-partition": str(message.partition).encode(),
        "x-source-offset": str(message.offset).encode(),
    }
    if element is not None:
        headers["x-batch-index"] = str(element).encode()
    await dead_letters_topic.send(key=message.key, value=encode(letter), headers=headers)
    metrics.dead_letters.labels(error.reason).inc()
