"""Canonical, versioned, unit-carrying schemas: one per topic.

The msgspec structs here are the source of truth; `schemas/json/*.json` is generated from them
(`fleetpulse schemas export`) for non-Python consumers, and a test fails when it is stale.
"""

from schemas.dead_letters import DeadLetter, dead_letter_headers
from schemas.events import FAILURE_MODES, DeviceEvent, FailureLabel, Feedback, Lifecycle, Liveness
from schemas.readings import DEVICE_TYPES, SENSORS, Reading
from schemas.scores import Reason, Score
from schemas.validation import (
    InvalidRecord,
    Rejected,
    decode_batch,
    decode_event,
    decode_reading,
    decode_window_stats,
    encode,
)
from schemas.window_stats import WindowStats

__all__ = [
    "DEVICE_TYPES",
    "FAILURE_MODES",
    "SENSORS",
    "DeadLetter",
    "DeviceEvent",
    "FailureLabel",
    "Feedback",
    "InvalidRecord",
    "Lifecycle",
    "Liveness",
    "Reading",
    "Reason",
    "Rejected",
    "Score",
    "WindowStats",
    "dead_letter_headers",
    "decode_batch",
    "decode_event",
    "decode_reading",
    "decode_window_stats",
    "encode",
]
