"""Canonical, versioned, unit-carrying schemas: one per topic.

The msgspec structs here are the source of truth; `schemas/json/*.json` is generated from them
(`fleetpulse schemas export`) for non-Python consumers, and a test fails when it is stale.
"""

from schemas.dead_letters import DeadLetter
from schemas.readings import DEVICE_TYPES, SENSORS, Reading
from schemas.scores import Reason, Score
from schemas.validation import InvalidRecord, decode_reading, encode

__all__ = [
    "DEVICE_TYPES",
    "SENSORS",
    "DeadLetter",
    "InvalidRecord",
    "Reading",
    "Reason",
    "Score",
    "decode_reading",
    "encode",
]
