"""Reject a record to the dead-letter topic with its reason in the value and in headers."""

from __future__ import annotations

import time

from schemas import DeadLetter, InvalidRecord, dead_letter_headers, encode
from streams import metrics
from streams.outputs import Outputs
from streams.processor import Record


def reject(
    outputs: Outputs,
    topic: str,
    source_topic: str,
    record: Record,
    error: InvalidRecord,
    stage: str = "worker",
    payload: bytes | None = None,
    element: int | None = None,
) -> None:
    """Queue the dead letter with the batch's other outputs, so it is acknowledged before the batch's
    offsets can be committed. (payload, element) dead-letter one element of a batch envelope: only that
    element's bytes are kept, with its position in the `x-batch-index` header."""
    raw = payload if payload is not None else record.value
    letter = DeadLetter(
        stage=stage,
        reason=error.reason,
        error=error.error,
        source_topic=source_topic,
        source_partition=record.partition,
        source_offset=record.offset,
        key=record.key.decode(errors="replace") if record.key is not None else None,
        payload=raw.decode(errors="replace"),
        rejected_at=int(time.time() * 1000),
    )
    outputs.produce_to(topic, -1, record.key or b"", encode(letter), dead_letter_headers(letter, element))
    metrics.dead_letters.labels(error.reason).inc()
