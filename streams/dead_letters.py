"""Reject a record to the dead-letter topic with its reason in the value and in headers."""

from __future__ import annotations

import time

import faust

from schemas import DeadLetter, InvalidRecord, dead_letter_headers, encode
from streams import metrics
from streams.outputs import Outputs


def reject(
    outputs: Outputs,
    topic: str,
    event: faust.EventT,
    error: InvalidRecord,
    stage: str = "worker",
    payload: bytes | None = None,
    element: int | None = None,
) -> None:
    """Queue the dead letter with the batch's other outputs, so it is acknowledged before the batch's
    offsets can be committed. (payload, element) dead-letter one element of a batch envelope: only that
    element's bytes are kept, with its position in the `x-batch-index` header."""
    message = event.message
    raw = payload if payload is not None else bytes(message.value or b"")
    letter = DeadLetter(
        stage=stage,
        reason=error.reason,
        error=error.error,
        source_topic=message.topic,
        source_partition=message.partition,
        source_offset=message.offset,
        key=message.key.decode(errors="replace") if isinstance(message.key, bytes) else None,
        payload=raw.decode(errors="replace"),
        rejected_at=int(time.time() * 1000),
    )
    outputs.produce_to(topic, -1, message.key or b"", encode(letter), dead_letter_headers(letter, element))
    metrics.dead_letters.labels(error.reason).inc()
