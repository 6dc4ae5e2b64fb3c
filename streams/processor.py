"""The worker's per-batch logic, framework-free: raw records in; scores, window stats, state writes and
rejects out. Faust only feeds batches and ships results (streams/agents.py), so this is unit-testable
and benchmarkable without Kafka.

Per batch each touched device's state is decoded once from the table and encoded once back, so the
changelog carries one record per device per batch, not one per reading.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Sequence
from typing import NamedTuple

from schemas import InvalidRecord, Reading, decode_reading, encode
from schemas.window_stats import WindowStats
from streams.liveness import Live, PartitionClocks
from streams.scoring import DeviceContext, score_reading
from streams.state import DeviceState, decode_state, encode_state
from streams.windows import N_SENSORS, SENSOR_NAMES, WIDTH, WindowState, pad_bucket

BUCKET_FLOATS = N_SENSORS * WIDTH

SENSOR_INDEX = tuple(enumerate(SENSOR_NAMES))


class Record(NamedTuple):
    partition: int
    offset: int
    value: bytes


class BatchResult(NamedTuple):
    scores: list[tuple[bytes, bytes]]  # (key, value) for the scores topic
    stats: list[tuple[bytes, bytes]]  # (key, value) for the window-stats topic
    writes: dict[str, tuple[int, bytes]]  # device_id -> (partition, encoded DeviceState)
    rejects: list[tuple[int, InvalidRecord]]  # (index in the batch, why)
    applied: int
    late: int
    replayed: int  # skipped by the replay guard
    lags_s: list[float]  # wall clock minus event time, per applied reading


class Processor:
    def __init__(
        self,
        lateness_ms: int,
        clocks: PartitionClocks | None = None,
        scorer: Callable[..., object] = score_reading,
    ) -> None:
        self.lateness_ms = lateness_ms
        self.clocks = clocks or PartitionClocks()
        self.scorer = scorer
        self.live: dict[str, Live] = {}  # liveness index of the devices this worker owns
        self.latest: dict[str, tuple[Reading, float]] = {}  # newest reading and score, for metrics

    def process(self, batch: Sequence[Record], load: Callable[[str, int], bytes | None]) -> BatchResult:
        now = time.time()
        now_ms = int(now * 1000)
        scores: list[tuple[bytes, bytes]] = []
        stats: list[tuple[bytes, bytes]] = []
        rejects: list[tuple[int, InvalidRecord]] = []
        lags: list[float] = []
        touched: dict[str, tuple[DeviceState, WindowState, Live]] = {}
        applied = late = replayed = 0
        for index, record in enumerate(batch):
            try:
                reading = decode_reading(record.value)
            except InvalidRecord as error:
                rejects.append((index, error))
                continue
            device_id = reading.device_id
            entry = touched.get(device_id)
            if entry is None:
                entry = touched[device_id] = self._open(device_id, reading, record.partition, load)
            state, windows, live = entry
            if record.partition == state.partition and record.offset <= state.last_offset:
                replayed += 1  # already in this state: a replay after a crash or rebalance
                continue
            state.partition, state.last_offset = record.partition, record.offset
            ts = reading.ts
            values = [(i, v) for i, name in SENSOR_INDEX if (v := getattr(reading, name)) is not None]
            state.readings += 1
            if not windows.add(ts, values, self.lateness_ms):
                state.late += 1
                late += 1
            key = device_id.encode()
            for _kind, window in windows.close(self.lateness_ms):
                stats.append((key, _encode_stats(device_id, reading.device_type, window)))
            live.observe(ts)
            self.clocks.observe(record.partition, ts)
            score = self.scorer(reading, DeviceContext(windows, live, state.readings), now_ms)
            state.score, state.score_ts, state.model = score.score, ts, score.model  # type: ignore[attr-defined]
            self.latest[device_id] = (reading, score.score)  # type: ignore[attr-defined]
            scores.append((key, encode(score)))  # type: ignore[arg-type]
            lags.append(now - ts / 1000)
            applied += 1
        writes = {device_id: (s.partition, self._close(s, w, v)) for device_id, (s, w, v) in touched.items()}
        return BatchResult(scores, stats, writes, rejects, applied, late, replayed, lags)

    def _open(
        self, device_id: str, reading: Reading, partition: int, load: Callable[[str, int], bytes | None]
    ) -> tuple[DeviceState, WindowState, Live]:
        raw = load(device_id, partition)
        state = decode_state(raw) if raw is not None else DeviceState(device_type=reading.device_type)
        if state.partition < 0:
            state.partition = partition
        windows = windows_from_state(state)
        live = self.live.get(device_id)
        if live is None:
            first = state.first_seen if state.first_seen >= 0 else reading.ts
            last = state.last_seen if state.last_seen >= 0 else reading.ts
            live = Live(partition, first, last, state.cadence_ms, state.liveness, state.liveness_since)
            self.live[device_id] = live
        live.partition = partition
        return state, windows, live

    @staticmethod
    def _close(state: DeviceState, windows: WindowState, live: Live) -> bytes:
        state.watermark, state.closed_until = windows.watermark, windows.closed_until
        state.buckets = {start: bucket.tobytes() for start, bucket in windows.buckets.items()}
        copy_live(state, live)
        return encode_state(state)


def windows_from_state(state: DeviceState) -> WindowState:
    buckets = {}
    for start, raw in state.buckets.items():
        bucket = array("d", raw)
        buckets[start] = bucket if len(bucket) == BUCKET_FLOATS else pad_bucket(bucket)
    return WindowState(buckets, state.watermark, state.closed_until)


def copy_live(state: DeviceState, live: Live) -> None:
    state.first_seen, state.last_seen, state.cadence_ms = live.first_seen, live.last_seen, live.cadence_ms
    state.liveness, state.liveness_since = live.state, live.since
    live.dirty = False


def live_from_state(state: DeviceState) -> Live:
    return Live(
        state.partition, state.first_seen, state.last_seen, state.cadence_ms, state.liveness, state.liveness_since
    )


def _encode_stats(device_id: str, device_type: str, window: object) -> bytes:
    start, end, sensor, s = window  # type: ignore[misc]
    return encode(
        WindowStats(
            device_id=device_id,
            device_type=device_type,
            sensor=sensor,
            window_start=start,
            window_end=end,
            count=s.count,
            mean=s.mean,
            min=s.min,
            max=s.max,
            std=s.std,
            last=s.last,
            slope_per_s=s.slope_per_s,
        )
    )
