"""fleetpulse.dead-letters.v1: input a stage rejected, the reason, and the original bytes."""

from __future__ import annotations

import msgspec

from schemas.readings import EpochMillis


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    schema_version: int = 1
    stage: str  # which process rejected it (worker, ingest, ...)
    reason: str  # short, stable, countable: bad_json, missing_field, out_of_range, implausible, ...
    error: str  # the full message, for a person
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    key: str | None = None
    payload: str  # the original bytes, decoded as UTF-8 with replacement
    rejected_at: EpochMillis


def dead_letter_headers(letter: DeadLetter, element: int | None = None) -> list[tuple[str, bytes]]:
    """The reason and the source as Kafka headers, so tools can filter dead letters without decoding them.
    Every stage (producers, ingestion, the worker) sends these same headers. `element` is the position of
    the rejected reading inside a batch envelope."""
    headers = [
        ("x-dead-letter-stage", letter.stage.encode()),
        ("x-dead-letter-reason", letter.reason.encode()),
        ("x-dead-letter-error", letter.error.encode()[:1000]),
    ]
    if letter.source_topic is not None:
        headers += [
            ("x-source-topic", letter.source_topic.encode()),
            ("x-source-partition", str(letter.source_partition).encode()),
            ("x-source-offset", str(letter.source_offset).encode()),
        ]
    if element is not None:
        headers.append(("x-batch-index", str(element).encode()))
    return headers
