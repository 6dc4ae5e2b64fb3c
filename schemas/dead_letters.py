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
