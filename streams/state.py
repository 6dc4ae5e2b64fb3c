"""One device's state: the value of the device table, encoded compactly (msgpack, array-like).

Windows, liveness, the latest score and a replay guard live in ONE table value, so a single changelog
record moves them together: after a crash the worker replays from the committed offset and skips every
record at or below `last_offset` (the partition offset already applied to this state), so no reading is
counted twice and none is lost (at-least-once delivery + this guard = exactly-once counting). The
device's failure model lives here too, so a replayed reading is never learned twice either, and a label
or feedback event is guarded by `last_event_offset` the same way.
"""

from __future__ import annotations

import msgspec


class DeviceState(msgspec.Struct, array_like=True, kw_only=True):
    device_type: str = ""
    partition: int = -1  # source partition of the readings; the changelog partition too
    last_offset: int = -1  # newest source offset applied: the replay guard
    readings: int = 0  # readings applied (late ones included)
    late: int = 0  # readings whose window had closed: counted here, not mixed into stats
    watermark: int = -1
    closed_until: int = -1
    buckets: dict[int, bytes] = {}  # minute start -> the bucket's doubles (streams.windows), raw bytes
    first_seen: int = -1
    last_seen: int = -1
    cadence_ms: float = 0.0
    liveness: int = 0
    liveness_since: int = 0
    score: float = -1.0  # the latest failure score, -1 before the first
    score_ts: int = -1
    model: str = ""  # name of the scorer that produced `score`
    # Appended fields only (array_like): older states still decode.
    model_state: bytes = b""  # the device's failure model (streams.model.envelope); empty = none yet
    last_event_offset: int = -1  # newest events-topic offset learned (same partition): the events' replay guard
    # The newest score the storage policy sent to DynamoDB (streams.storage): its value, event time, liveness.
    stored_score: float = -1.0
    stored_ts: int = -1
    stored_liveness: int = -1
    peak_score: float = -1.0  # the highest score since the stored one, and its event time (-1: none yet)
    peak_ts: int = -1
    recent_ts: list[int] = []  # event times of the newest RECENT_READINGS applied: a re-sent reading is not new
    # What the model learned since `model_state` was stored (ModelService.input_of per reading, in order): the
    # model is `model_state` plus these, so the envelope need not be encoded every batch (streams/scoring.py).
    model_pending: list[bytes] = []


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(DeviceState)


def encode_state(state: DeviceState) -> bytes:
    return _encoder.encode(state)


def decode_state(data: bytes) -> DeviceState:
    return _decoder.decode(data)


encode_state_bound = _encoder.encode  # encode_state() without its Python frame, for the per-batch loop: same bytes
