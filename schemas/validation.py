"""Decode and validate records from the wire; turn every failure into a short, countable reason."""

from __future__ import annotations

import msgspec

from schemas.events import DeviceEvent
from schemas.readings import Reading
from schemas.units import PLAUSIBLE, SENSORS
from schemas.window_stats import WindowStats

_decoder = msgspec.json.Decoder(Reading)
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
