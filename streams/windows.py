"""Event-time window maths per device, framework-free (no Faust here, so it is unit-testable and cheap).

Design: one-minute *buckets* of mergeable moments per sensor. A tumbling 1-min window is one bucket; a
hopping 5-min window (1-min step) is the merge of five consecutive buckets, so both resolutions share one
state. Buckets close by the device's own event-time watermark (the newest event time seen) minus the
allowed lateness; a reading whose bucket already closed is *late*: counted, never mixed into windows.
We do not use Faust's windowed tables (expiry bugs with RocksDB, windows lost on restart).

Per sensor a bucket holds 10 floats (see the F_* offsets). Time is kept in seconds relative to the
bucket start so the slope sums stay small; merging shifts them to the window start.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, MutableSequence
from typing import NamedTuple

from schemas.units import SENSORS

# Fixed order: it is the layout of the persisted buckets. A new sensor is appended here (old buckets are
# padded on load, see pad_bucket), never inserted.
SENSOR_NAMES: tuple[str, ...] = ("temperature_c", "power_w", "load_pct", "voltage_v", "fan_cfm", "clock_ghz")
assert set(SENSOR_NAMES) <= set(SENSORS)
N_SENSORS = len(SENSOR_NAMES)
BUCKET_MS = 60_000  # the tumbling window and the hop
HOP_BUCKETS = 5  # the hopping window is five buckets long
HOP_MS = BUCKET_MS * HOP_BUCKETS

# Offsets of one sensor's moments inside a bucket.
F_N, F_SUM, F_SUMSQ, F_MIN, F_MAX, F_LAST_TS, F_LAST, F_ST, F_STT, F_STV = range(10)
WIDTH = 10
EMPTY_SENSOR = (0.0, 0.0, 0.0, math.inf, -math.inf, -1.0, 0.0, 0.0, 0.0, 0.0)


def bucket_start(ts_ms: int) -> int:
    return ts_ms - ts_ms % BUCKET_MS


_TEMPLATE = array("d", EMPTY_SENSOR * N_SENSORS)


def new_bucket() -> array[float]:
    """A bucket is a flat array of doubles: compact in memory, and persisted as its raw bytes."""
    return array("d", _TEMPLATE)


def pad_bucket(bucket: array[float]) -> array[float]:
    """Widen a bucket persisted before a sensor was appended to SENSOR_NAMES."""
    missing = N_SENSORS - len(bucket) // WIDTH
    if missing > 0:
        bucket.extend(EMPTY_SENSOR * missing)
    return bucket


def add_values(bucket: MutableSequence[float], start_ms: int, ts_ms: int, values: Iterable[tuple[int, float]]) -> None:
    """Add one reading's (sensor_index, value) pairs at event time ts_ms to the bucket that starts at start_ms
    (one loop with the time terms computed once: this runs for every sensor of every reading)."""
    t = (ts_ms - start_ms) / 1000.0
    tt = t * t
    newest = float(ts_ms)
    for sensor_index, value in values:
        o = sensor_index * WIDTH  # the offsets below are F_N .. F_STV
        bucket[o] += 1.0
        bucket[o + 1] += value
        bucket[o + 2] += value * value
        if value < bucket[o + 3]:
            bucket[o + 3] = value
        if value > bucket[o + 4]:
            bucket[o + 4] = value
        if ts_ms >= bucket[o + 5]:  # `last` is the newest by event time, not by arrival
            bucket[o + 5] = newest
            bucket[o + 6] = value
        bucket[o + 7] += t
        bucket[o + 8] += tt
        bucket[o + 9] += t * value


assert tuple(range(WIDTH)) == (F_N, F_SUM, F_SUMSQ, F_MIN, F_MAX, F_LAST_TS, F_LAST, F_ST, F_STT, F_STV)


class Stats(NamedTuple):
    count: int
    mean: float
    min: float
    max: float
    std: float  # population standard deviation
    last: float
    slope_per_s: float


def merge(parts: Iterable[tuple[int, MutableSequence[float]]], sensor_index: int, window_start: int) -> Stats | None:
    """Summarise one sensor over buckets (start_ms, bucket); None when the sensor has no value there."""
    n = s = ss = st = stt = stv = 0.0
    lo, hi, last_ts, last = math.inf, -math.inf, -1.0, 0.0
    o = sensor_index * WIDTH
    for start, bucket in parts:
        bn = bucket[o + F_N]
        if not bn:
            continue
        d = (start - window_start) / 1000.0  # shift bucket-relative time to window-relative time
        bs, bst = bucket[o + F_SUM], bucket[o + F_ST]
        n += bn
        s += bs
        ss += bucket[o + F_SUMSQ]
        st += bst + bn * d
        stt += bucket[o + F_STT] + 2 * d * bst + bn * d * d
        stv += bucket[o + F_STV] + d * bs
        lo = min(lo, bucket[o + F_MIN])
        hi = max(hi, bucket[o + F_MAX])
        if bucket[o + F_LAST_TS] >= last_ts:
            last_ts, last = bucket[o + F_LAST_TS], bucket[o + F_LAST]
    if not n:
        return None
    mean = min(hi, max(lo, s / n))  # clamp float rounding so min <= mean <= max holds
    std = math.sqrt(max(0.0, ss / n - mean * mean))
    denominator = n * stt - st * st
    slope = (n * stv - st * s) / denominator if denominator > 1e-9 * max(1.0, n * stt) else 0.0
    return Stats(int(n), mean, lo, hi, std, last, slope)


class ClosedWindow(NamedTuple):
    start: int
    end: int
    sensor: str
    stats: Stats


class WindowState:
    """The window part of one device's state: buckets by start time, the watermark, what is closed.

    `closed_until`: every bucket starting before it is closed (and its windows emitted). Buckets stay
    after closing until no open hopping window needs them.
    """

    __slots__ = ("buckets", "closed_until", "watermark")

    def __init__(self, buckets: dict[int, array[float]] | None = None, watermark: int = -1, closed_until: int = -1):
        self.buckets = buckets if buckets is not None else {}
        self.watermark = watermark
        self.closed_until = closed_until

    def add(self, ts_ms: int, values: Iterable[tuple[int, float]], lateness_ms: int) -> bool:
        """Add one reading's (sensor_index, value) pairs; False (and nothing added) when it is late."""
        start = bucket_start(ts_ms)
        if self.closed_until < 0:  # first reading: everything older than the lateness is closed already
            self.closed_until = bucket_start(ts_ms - lateness_ms)
        if start < self.closed_until:
            return False
        bucket = self.buckets.get(start)
        if bucket is None:
            bucket = self.buckets[start] = new_bucket()
        add_values(bucket, start, ts_ms, values)
        if ts_ms > self.watermark:
            self.watermark = ts_ms
        return True

    def close(self, lateness_ms: int) -> list[tuple[str, ClosedWindow]]:
        """Close every bucket the watermark allows; ("1m"|"5m", window) per window and sensor with data."""
        out: list[tuple[str, ClosedWindow]] = []
        if self.watermark < 0:
            return out
        new_closed = bucket_start(self.watermark - lateness_ms)
        old_closed = self.closed_until
        if new_closed <= old_closed:
            return out
        # Window ends worth visiting: only those whose windows contain a bucket (bounded on long gaps).
        ends = sorted(
            {
                start + BUCKET_MS * k
                for start in self.buckets
                for k in range(1, HOP_BUCKETS + 1)
                if old_closed < start + BUCKET_MS * k <= new_closed
            }
        )
        buckets = self.buckets
        for end in ends:
            tumbling = buckets.get(end - BUCKET_MS)
            if tumbling is not None:
                for index, sensor in enumerate(SENSOR_NAMES):
                    stats = merge(((end - BUCKET_MS, tumbling),), index, end - BUCKET_MS)
                    if stats is not None:
                        out.append(("1m", ClosedWindow(end - BUCKET_MS, end, sensor, stats)))
            start = end - HOP_MS
            parts = [(s, buckets[s]) for s in range(start, end, BUCKET_MS) if s in buckets]
            if parts:
                for index, sensor in enumerate(SENSOR_NAMES):
                    stats = merge(parts, index, start)
                    if stats is not None:
                        out.append(("5m", ClosedWindow(start, end, sensor, stats)))
        self.closed_until = new_closed
        # A closed bucket is needed until the last hopping window containing it has closed.
        for start in [s for s in buckets if s + HOP_MS <= new_closed]:
            del buckets[start]
        return out

    def current(self, sensor_index: int, now_window_end: int | None = None) -> Stats | None:
        """The last five minutes up to the watermark, open buckets included (for status views)."""
        if self.watermark < 0:
            return None
        end = now_window_end if now_window_end is not None else bucket_start(self.watermark) + BUCKET_MS
        start = end - HOP_MS
        parts = [(s, b) for s, b in self.buckets.items() if start <= s < end]
        return merge(parts, sensor_index, start)
