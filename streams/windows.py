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
import struct
from array import array
from collections.abc import Iterable, Sequence
from typing import Final, NamedTuple

from schemas.units import SENSORS

# Fixed order: it is the layout of the persisted buckets. A new sensor is appended here (old buckets are
# padded on load, see pad_bucket), never inserted.
SENSOR_NAMES: Final[tuple[str, ...]] = ("temperature_c", "power_w", "load_pct", "voltage_v", "fan_cfm", "clock_ghz")
assert set(SENSOR_NAMES) <= set(SENSORS)
N_SENSORS: Final = len(SENSOR_NAMES)
BUCKET_MS: Final = 60_000  # the tumbling window and the hop
HOP_BUCKETS: Final = 5  # the hopping window is five buckets long
HOP_MS: Final = BUCKET_MS * HOP_BUCKETS

# Offsets of one sensor's moments inside a bucket.
F_N, F_SUM, F_SUMSQ, F_MIN, F_MAX, F_LAST_TS, F_LAST, F_ST, F_STT, F_STV = range(10)
WIDTH: Final = 10
EMPTY_SENSOR = (0.0, 0.0, 0.0, math.inf, -math.inf, -1.0, 0.0, 0.0, 0.0, 0.0)  # not Final: as storage.ALERT_BANDS


def bucket_start(ts_ms: int) -> int:
    return ts_ms - ts_ms % BUCKET_MS


BUCKET_FLOATS: Final = N_SENSORS * WIDTH
_TEMPLATE: Final = EMPTY_SENSOR * N_SENSORS
# A bucket is persisted as its raw native doubles (what array("d").tobytes() gave: the stored layout).
_LAYOUT: Final = struct.Struct(f"{BUCKET_FLOATS}d")
BUCKET_BYTES: Final[int] = _LAYOUT.size
_OFFSETS: Final = tuple(range(0, BUCKET_FLOATS, WIDTH))  # each sensor's first float, in SENSOR_NAMES order

# In memory a bucket being added to is a list of floats: indexing a list reuses its float objects, where an
# array boxes a new one per read (adding a reading took half the time). Stored buckets stay bytes until a
# reading or a closing window needs them, so a batch decodes and re-encodes only the buckets it touches.
Bucket = list[float]


def new_bucket() -> Bucket:
    return list(_TEMPLATE)


def decode_bucket(raw: bytes) -> Bucket:
    """A stored bucket's floats; one persisted before a sensor was appended to SENSOR_NAMES is widened."""
    if len(raw) == BUCKET_BYTES:
        return list(_LAYOUT.unpack(raw))
    return pad_bucket(array("d", raw).tolist())


def encode_bucket(bucket: Bucket) -> bytes:
    return _LAYOUT.pack(*bucket) if len(bucket) == BUCKET_FLOATS else array("d", bucket).tobytes()


def pad_bucket(bucket: Bucket) -> Bucket:
    """Widen a bucket persisted before a sensor was appended to SENSOR_NAMES."""
    missing = N_SENSORS - len(bucket) // WIDTH
    if missing > 0:
        bucket.extend(EMPTY_SENSOR * missing)
    return bucket


def add_values(b: Bucket, start_ms: int, ts_ms: int, values: tuple[float | None, ...]) -> None:
    """Add one reading's sensor values (floats in SENSOR_NAMES order, None where absent) at event time ts_ms to
    the bucket that starts at start_ms. Runs for every sensor of every reading: compiled (streams/native.py),
    mypyc runs it on C doubles. The offsets below are F_N .. F_STV of each sensor."""
    t = (ts_ms - start_ms) / 1000.0
    tt = t * t
    newest = float(ts_ms)
    o = 0
    for v in values:
        if v is not None:
            b[o] += 1.0
            b[o + 1] += v
            b[o + 2] += v * v
            if v < b[o + 3]:
                b[o + 3] = v
            if v > b[o + 4]:
                b[o + 4] = v
            if ts_ms >= b[o + 5]:  # `last` is the newest by event time, not by arrival
                b[o + 5] = newest
                b[o + 6] = v
            b[o + 7] += t
            b[o + 8] += tt
            b[o + 9] += t * v
        o += WIDTH


assert tuple(range(WIDTH)) == (F_N, F_SUM, F_SUMSQ, F_MIN, F_MAX, F_LAST_TS, F_LAST, F_ST, F_STT, F_STV)


class Stats(NamedTuple):
    count: int  # type: ignore[assignment]  # shadows tuple.count (mypy, so mypyc, refuse it otherwise)
    mean: float
    min: float
    max: float
    std: float  # population standard deviation
    last: float
    slope_per_s: float


# A NamedTuple's constructor is a generated Python function (a frame per window and sensor, twice: Stats and
# ClosedWindow); the compiled module builds them with tuple's own __new__: the same instances, no frame.
_new_tuple: Final = tuple.__new__


def merge(parts: Iterable[tuple[int, tuple[float, ...]]], sensor_index: int, window_start: int) -> Stats | None:
    """Summarise one sensor over buckets (start_ms, bucket floats); None when the sensor has no value there.
    (The sums are taken in this order, and min/max as the builtins pick them, so a window's bits stay the same.)"""
    n = s = ss = st = stt = stv = 0.0
    lo, hi, last_ts, last = math.inf, -math.inf, -1.0, 0.0
    o = sensor_index * WIDTH
    for start, bucket in parts:
        bn = bucket[o]  # F_N; the offsets below are F_SUM .. F_STV
        if not bn:
            continue
        d = (start - window_start) / 1000.0  # shift bucket-relative time to window-relative time
        bs, bst = bucket[o + 1], bucket[o + 7]
        n += bn
        s += bs
        ss += bucket[o + 2]
        st += bst + bn * d
        stt += bucket[o + 8] + 2 * d * bst + bn * d * d
        stv += bucket[o + 9] + d * bs
        low, high, bucket_last_ts = bucket[o + 3], bucket[o + 4], bucket[o + 5]
        if low < lo:
            lo = low
        if high > hi:
            hi = high
        if bucket_last_ts >= last_ts:
            last_ts, last = bucket_last_ts, bucket[o + 6]
    if not n:
        return None
    mean = min(hi, max(lo, s / n))  # clamp float rounding so min <= mean <= max holds
    std = math.sqrt(max(0.0, ss / n - mean * mean))
    denominator = n * stt - st * st
    slope = (n * stv - st * s) / denominator if denominator > 1e-9 * max(1.0, n * stt) else 0.0
    return _new_tuple(Stats, (int(n), mean, lo, hi, std, last, slope))  # type: ignore[no-any-return]


class ClosedWindow(NamedTuple):
    start: int
    end: int
    sensor: str
    stats: Stats


def _floats(bucket: Bucket | bytes) -> tuple[float, ...]:
    """A bucket's floats to read (a stored one is unpacked, not decoded into the state), as a tuple: compiled,
    merge reads a typed tuple's items directly (a Sequence's went through the generic item protocol)."""
    return _LAYOUT.unpack(bucket) if isinstance(bucket, bytes) else tuple(bucket)


class WindowState:
    """The window part of one device's state: buckets by start time, the watermark, what is closed.

    `closed_until`: every bucket starting before it is closed (and its windows emitted). Buckets stay
    after closing until no open hopping window needs them. A bucket is its stored bytes until a reading is
    added to it (then a list of floats, see Bucket) and again once closed; `stored()` gives them all as bytes.
    """

    __slots__ = ("buckets", "closed_until", "watermark")

    def __init__(
        self, buckets: dict[int, Bucket | bytes] | None = None, watermark: int = -1, closed_until: int = -1
    ) -> None:
        self.buckets = buckets if buckets is not None else {}
        self.watermark = watermark
        self.closed_until = closed_until

    @classmethod
    def from_stored(cls, buckets: dict[int, bytes], watermark: int, closed_until: int) -> WindowState:
        """The windows of a stored state; buckets of an older layout are widened now, so they are stored
        widened whether or not a reading touches them (as when every bucket was decoded on load)."""
        held: dict[int, Bucket | bytes] = {
            start: raw if len(raw) == BUCKET_BYTES else decode_bucket(raw) for start, raw in buckets.items()
        }
        return cls(held, watermark, closed_until)

    def stored(self) -> dict[int, bytes]:
        """Every bucket as bytes, in order. A closed bucket is kept as its bytes from now on (it only waits for
        its last hopping window); an open one stays decoded, for the next batch's readings."""
        closed_until, buckets = self.closed_until, self.buckets
        out: dict[int, bytes] = {}
        for start, bucket in buckets.items():
            if isinstance(bucket, bytes):
                out[start] = bucket
            else:
                out[start] = raw = encode_bucket(bucket)
                if start < closed_until:
                    buckets[start] = raw  # replacing a value keeps the dict's order
        return out

    def add(self, ts_ms: int, values: tuple[float | None, ...], lateness_ms: int) -> bool:
        """Add one reading's sensor values (a tuple of floats in SENSOR_NAMES order, None where absent); False
        (and nothing added) when it is late."""
        start = bucket_start(ts_ms)
        if self.closed_until < 0:  # first reading: everything older than the lateness is closed already
            self.closed_until = bucket_start(ts_ms - lateness_ms)
        if start < self.closed_until:
            return False
        buckets = self.buckets
        bucket = buckets.get(start)
        if bucket is None:
            bucket = buckets[start] = new_bucket()
        elif type(bucket) is bytes:
            bucket = buckets[start] = decode_bucket(bucket)
        add_values(bucket, start, ts_ms, values)  # type: ignore[arg-type]  # a list now
        if ts_ms > self.watermark:
            self.watermark = ts_ms
        return True

    def close_due(self, lateness_ms: int) -> bool:
        """Whether `close` would close anything (cheap: checked after every reading, true once a minute)."""
        return self.watermark >= 0 and bucket_start(self.watermark - lateness_ms) > self.closed_until

    def close(self, lateness_ms: int) -> list[tuple[str, ClosedWindow]]:
        """Close every bucket the watermark allows; ("1m"|"5m", window) per window and sensor with data."""
        out: list[tuple[str, ClosedWindow]] = []
        if self.watermark < 0:
            return out
        new_closed = bucket_start(self.watermark - lateness_ms)
        old_closed = self.closed_until
        if new_closed <= old_closed:
            return out
        buckets = self.buckets
        # Window ends worth visiting: only those whose windows contain a bucket (bounded on long gaps).
        ends = sorted(
            {
                start + BUCKET_MS * k
                for start in buckets
                for k in range(1, HOP_BUCKETS + 1)
                if old_closed < start + BUCKET_MS * k <= new_closed
            }
        )
        floats = {start: _floats(bucket) for start, bucket in buckets.items() if start < new_closed}
        for end in ends:
            tumbling = floats.get(end - BUCKET_MS)
            if tumbling is not None:
                _emit(out, "1m", ((end - BUCKET_MS, tumbling),), end - BUCKET_MS, end)
            start = end - HOP_MS
            parts = [(s, floats[s]) for s in range(start, end, BUCKET_MS) if s in floats]
            if parts:
                _emit(out, "5m", parts, start, end)
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
        parts = [(s, _floats(b)) for s, b in self.buckets.items() if start <= s < end]
        return merge(parts, sensor_index, start)


def _emit(
    out: list[tuple[str, ClosedWindow]],
    kind: str,
    parts: Sequence[tuple[int, tuple[float, ...]]],
    start: int,
    end: int,
) -> None:
    for index, sensor in enumerate(SENSOR_NAMES):
        stats = merge(parts, index, start)
        if stats is not None:
            out.append((kind, _new_tuple(ClosedWindow, (start, end, sensor, stats))))
