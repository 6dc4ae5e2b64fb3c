"""Decode and validate records from the wire; turn every failure into a short, countable reason."""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from schemas.events import DeviceEvent
from schemas.readings import Reading
from schemas.units import PLAUSIBLE, SENSORS
from schemas.window_stats import WindowStats

_decoder = msgspec.json.Decoder(Reading)
_batch_decoder = msgspec.json.Decoder(list[Reading])
_raw_batch_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_event_decoder = msgspec.json.Decoder(DeviceEvent)
_window_decoder = msgspec.json.Decoder(WindowStats)
_encoder = msgspec.json.Encoder()


class InvalidRecord(ValueError):
    """A record that must go to the dead-letter topic. `reason` is a stable label for metrics."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(f"{reason}: {error}")
        self.reason = reason
        self.error = error


def _reason_for(error: msgspec.DecodeError) -> str:
    message = str(error)
    if not isinstance(error, msgspec.ValidationError):
        return "bad_json"
    if message.startswith("Object missing required field"):
        return "missing_field"
    if "matching regex" in message or "of length" in message:
        return "bad_identifier"
    if ">=" in message or "<=" in message:
        return "out_of_range"
    if "enum value" in message or (message.startswith("Invalid value") and "`$.kind`" in message):
        return "unknown_value"
    return "wrong_type"


def check_plausible(reading: Reading) -> None:
    """Reject values a device of this type cannot physically report (unit bugs, lost decimals)."""
    for field, (low, high) in PLAUSIBLE[reading.device_type].items():
        value = getattr(reading, field)
        if value is not None and not low <= value <= high:
            unit = SENSORS[field].unit
            raise InvalidRecord(
                "implausible",
                f"{field}={value} {unit} is outside {low}..{high} for a {reading.device_type}",
            )


def decode_reading(data: bytes) -> Reading:
    try:
        reading = _decoder.decode(data)
    except msgspec.DecodeError as error:
        raise InvalidRecord(_reason_for(error), str(error)) from None
    check_plausible(reading)
    return reading


class Rejected(NamedTuple):
    """One part of a readings message that must be dead-lettered: which element, its bytes, and why."""

    index: int | None  # position in the batch envelope; None = the whole message
    payload: bytes  # the element's own JSON (or the whole message) for the dead letter
    error: InvalidRecord


def decode_batch(data: bytes) -> tuple[list[Reading], list[Rejected]]:
    """Decode a readings message in either form, never raising: one Reading object, or a batch envelope
    (a JSON array of Reading objects; rule in `schemas/readings.py`).

    Per element: the good readings are returned in order and each bad element is `Rejected` with its
    index and its own bytes, so the caller dead-letters only those. The whole message is rejected
    (index None) when it is not JSON, not an object or array, or an empty array (`empty_batch`).
    """
    if data.lstrip()[:1] != b"[":
        try:
            return [decode_reading(data)], []
        except InvalidRecord as error:
            return [], [Rejected(None, data, error)]
    try:  # fast path: one pass over a whole valid array
        readings = _batch_decoder.decode(data)
    except msgspec.DecodeError:
        return _decode_elements(data)
    if not readings:
        return [], [Rejected(None, data, InvalidRecord("empty_batch", "a batch envelope holds no readings"))]
    try:
        for reading in readings:
            check_plausible(reading)
    except InvalidRecord:  # rare: redo per element, so each dead letter carries the element's own bytes
        return _decode_elements(data)
    return readings, []


def _decode_elements(data: bytes) -> tuple[list[Reading], list[Rejected]]:
    """Slow path, only when the array failed as a whole: split it into raw elements, decode each."""
    try:
        elements = _raw_batch_decoder.decode(data)
    except msgspec.DecodeError as error:  # not even a JSON array: the whole message is bad
        return [], [Rejected(None, data, InvalidRecord(_reason_for(error), str(error)))]
    good, bad = [], []
    for index, raw in enumerate(elements):
        element = bytes(raw)
        try:
            good.append(decode_reading(element))
        except InvalidRecord as error:
            bad.append(Rejected(index, element, error))
    return good, bad


def decode_event(data: bytes) -> DeviceEvent:
    """A device event of any kind; an unknown `kind` is `unknown_value`."""
    try:
        return _event_decoder.decode(data)
    except msgspec.DecodeError as error:
        raise InvalidRecord(_reason_for(error), str(error)) from None


def decode_window_stats(data: bytes) -> WindowStats:
    try:
        return _window_decoder.decode(data)
    except msgspec.DecodeError as error:
        raise InvalidRecord(_reason_for(error), str(error)) from None


def encode(record: msgspec.Struct) -> bytes:
    return _encoder.encode(record)


encode_bound = _encoder.encode  # encode() without its Python frame, for per-reading loops: the same bytes
