"""The scoring seam: given a validated reading and the device's window/liveness context, return a Score.

Today this is the stateless baseline. The River model (streams/model/, owned by the ML work) replaces
`score_reading`; its per-device model state belongs in its own changelog-backed table keyed by device_id
(co-partitioned with the readings), read and written in the same batch as DeviceState.
"""

from __future__ import annotations

from typing import NamedTuple

from schemas import Reading, Score
from streams import baseline
from streams.liveness import Live
from streams.windows import WindowState


class DeviceContext(NamedTuple):
    windows: WindowState  # 1-min buckets, open and recently closed; `.current(i)` = last 5 min
    live: Live  # last seen, learned cadence, liveness state
    readings: int  # readings applied for this device so far


def score_reading(reading: Reading, context: DeviceContext, now_ms: int | None = None) -> Score:
    return baseline.score(reading, now_ms)
