"""The worker's per-batch logic, framework-free: raw records in; scores, window stats, state writes and
rejects out. Faust only feeds batches and ships results (streams/readings_agent.py, events_agent.py), so this
is unit-testable and benchmarkable without Kafka.

Per batch each touched device's state is decoded once from the table and encoded once back, so the
changelog carries one record per device per batch, not one per reading.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from operator import attrgetter
from typing import Any, NamedTuple

from schemas import InvalidRecord, Reading, Score, decode_batch, decode_event, encode
from schemas.events import FailureLabel, Feedback
from schemas.validation import Rejected
from schemas.window_stats import WindowStats
from streams.admission import Admission, refused_part
from streams.alert_hold import AlertHold
from streams.liveness import Live, PartitionClocks
from streams.scoring import DeviceContext, ModelScorer, Scorer
from streams.state import DeviceState, decode_state, encode_state
from streams.storage import StoragePolicy, window_rows
from streams.windows import SENSOR_NAMES, Stats, WindowState

_sensor_values = attrgetter(*SENSOR_NAMES)  # a reading's window sensors in one call, None where absent


class Record(NamedTuple):
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None  # for dead letters
    timestamp_ms: int | None = None  # the Kafka record's timestamp; None: unknown (the worker's clock is used)


_WHOLE_MESSAGE = 1 << 30  # an element position past any envelope's last


class BatchResult(NamedTuple):
    scores: list[tuple[bytes, bytes]]  # (key, value) for the scores topic
    stats: list[tuple[bytes, bytes]]  # (key, value) for the window-stats topic
    writes: dict[str, tuple[int, bytes]]  # device_id -> (partition, encoded DeviceState)
    rejects: list[tuple[int, Rejected]]  # (index in the batch, the message or envelope element, why)
    applied: int
    late: int
    replayed: int  # skipped by the replay guard
    lags_s: list[float]  # wall clock minus event time, per applied reading
    stored_scores: list[tuple[bytes, bytes]] = []  # (key, value) for the store-bound scores topic
    stored_windows: list[tuple[bytes, bytes]] = []  # (key, value) for the store-bound windows topic
    duplicated: int = 0  # re-sent at a new offset (same device, same event time): skipped


RECENT_READINGS = 16  # a retry arrives within seconds: the newest few event times of a device suffice


def _seen_before(state: DeviceState, ts: int) -> bool:
    """Whether the device already applied a reading with this event time; if not, remember it. A device
    reports one reading per event time, so the same time again is the same reading re-sent."""
    recent = state.recent_ts
    if ts in recent:
        return True
    recent.append(ts)
    if len(recent) > RECENT_READINGS:
        del recent[0]
    return False


class LearnResult(NamedTuple):
    writes: dict[str, tuple[int, bytes]]  # device_id -> (partition, encoded DeviceState)
    rejects: list[tuple[int, InvalidRecord]]
    learned: int  # labels/verdicts the device model learned from
    unused: int  # label/feedback events with nothing to learn (no buffered readings near them)
    unknown: int  # label/feedback events for a device this worker holds no state for
    replayed: int  # skipped by the events' replay guard


class Processor:
    def __init__(
        self,
        lateness_ms: int,
        clocks: PartitionClocks | None = None,
        scorer: Scorer | None = None,
        admission: Admission | None = None,
        storage: StoragePolicy | None = None,
    ) -> None:
        self.lateness_ms = lateness_ms
        self.admission = admission  # None: every schema-valid reading is applied (unit tests, benches)
        self.storage = storage  # None: no store-bound outputs (the sinks read the full topics)
        self.clocks = clocks or PartitionClocks()
        self.scorer: Scorer = scorer or ModelScorer()
        self.live: dict[str, Live] = {}  # liveness index of the devices this worker owns
        self.latest: dict[str, tuple[Reading, Score]] = {}  # newest reading and score, for metrics
        self.alerts = AlertHold()  # what the device alert sees of each score (streams/alert_hold.py)
        self.last_window: dict[str, dict[str, Stats]] = {}  # newest closed 1-min window per sensor, for metrics

    def process(self, batch: Sequence[Record], load: Callable[[str, int], bytes | None]) -> BatchResult:
        now = time.time()
        now_ms = int(now * 1000)
        scores: list[tuple[bytes, bytes]] = []
        stats: list[tuple[bytes, bytes]] = []
        rejects: list[tuple[int, Rejected]] = []
        lags: list[float] = []
        stored_scores: list[tuple[bytes, bytes]] = []
        stored_windows: list[tuple[bytes, bytes]] = []
        storage = self.storage
        touched: dict[str, tuple[DeviceState, WindowState, Live, Any]] = {}
        applied_up_to: dict[str, tuple[int, int, int]] = {}  # device -> (partition, offset, element) applied
        scorer = self.scorer
        applied = late = replayed = duplicated = 0
        for record, element, reading in self._readings(batch, rejects, now_ms):
            device_id = reading.device_id
            entry = touched.get(device_id)
            if entry is None:
                entry = touched[device_id] = self._open(device_id, reading, record.partition, load)
                # the stored state covers every reading of every message up to its last offset
                applied_up_to[device_id] = (entry[0].partition, entry[0].last_offset, _WHOLE_MESSAGE)
            state, windows, live, model = entry
            # A position is (offset, element): a batch envelope carries several readings of a device under
            # one offset, and a message redelivered within one batch (after a rebalance) is seen twice.
            partition, offset, applied_element = applied_up_to[device_id]
            if record.partition == partition and (record.offset, element) <= (offset, applied_element):
                replayed += 1  # already applied: a replay after a crash or rebalance, or a redelivery
                continue
            applied_up_to[device_id] = (record.partition, record.offset, element)
            state.partition, state.last_offset = record.partition, record.offset
            ts = reading.ts
            if _seen_before(state, ts):
                duplicated += 1  # a producer's retry (no idempotence, or a phone re-pushing): already applied
                continue
            state.readings += 1
            if not windows.add(ts, _sensor_values(reading), self.lateness_ms):
                state.late += 1
                late += 1
            key = device_id.encode()
            closed_1m = []
            for kind, window in windows.close(self.lateness_ms) if windows.close_due(self.lateness_ms) else ():
                stats.append((key, _encode_stats(device_id, reading.device_type, window)))
                if kind == "1m":
                    self.last_window.setdefault(device_id, {})[window.sensor] = window.stats
                    closed_1m.append(window)
            if closed_1m and storage is not None:
                stored_windows.extend(window_rows(key, device_id, reading.device_type, closed_1m))
            live.observe(ts)
            self.clocks.observe(record.partition, ts, device_id)
            score = scorer.score(model, reading, DeviceContext(windows, live, state.readings), now_ms)
            state.score, state.score_ts, state.model = score.score, ts, score.model
            self.latest[device_id] = (reading, score)
            self.alerts.observe(device_id, score)
            scores.append((key, encode(score)))
            if storage is not None and storage.select_scores:
                stored = storage.keep(state, score, live.state)
                if stored is not None:
                    stored_scores.append((key, stored))
            lags.append(now - ts / 1000)
            applied += 1
        writes = {d: (s.partition, self._close(d, s, w, v, m)) for d, (s, w, v, m) in touched.items()}
        return BatchResult(
            scores, stats, writes, rejects, applied, late, replayed, lags, stored_scores, stored_windows, duplicated
        )

    def _readings(
        self, batch: Sequence[Record], rejects: list[tuple[int, Rejected]], now_ms: int
    ) -> Iterator[tuple[Record, int, Reading]]:
        """Every valid, admitted reading of the batch with its position among the message's valid readings
        (stable: decoding and admission are deterministic), from single-reading messages and batch envelopes
        alike; what is invalid or refused (a whole message, or one element of an envelope) goes to `rejects`."""
        admission = self.admission
        for index, record in enumerate(batch):
            readings, rejected = decode_batch(record.value)
            rejects.extend((index, part) for part in rejected)
            for element, reading in enumerate(readings):
                refused = admission and admission.refuse(record.partition, record.timestamp_ms, reading, now_ms)
                if refused is None:
                    yield record, element, reading
                else:
                    rejects.append((index, refused_part(record.value, element, reading, rejected, refused)))

    def learn(self, batch: Sequence[Record], load: Callable[[str, int], bytes | None]) -> LearnResult:
        """Failure labels and feedback verdicts from the events topic, taught to the device's model. Events
        are keyed by device_id on a topic with the readings' partition count, so an event's partition is its
        device's readings partition: the state is local, and `last_event_offset` guards against replays. An
        event on another partition is dead-lettered `wrong_partition` (streams/admission.py), never learned."""
        rejects: list[tuple[int, InvalidRecord]] = []
        touched: dict[str, tuple[DeviceState, Any]] = {}
        learned = unused = unknown = replayed = 0
        for index, record in enumerate(batch):
            try:
                event = decode_event(record.value)
            except InvalidRecord as error:
                rejects.append((index, error))
                continue
            if not isinstance(event, (FailureLabel, Feedback)):
                continue  # lifecycle/liveness events: not for the model
            misplaced = self.admission and self.admission.misplaced(event.device_id, record.partition)
            if misplaced:
                rejects.append((index, misplaced))
                continue
            entry = touched.get(event.device_id)
            if entry is None:
                raw = load(event.device_id, record.partition)
                if raw is None:
                    unknown += 1
                    continue
                state = decode_state(raw)
                model = self.scorer.open(event.device_id, state.device_type, state.model_state)
                entry = touched[event.device_id] = (state, model)
            state, model = entry
            if record.partition == state.partition and record.offset <= state.last_event_offset:
                replayed += 1
                continue
            if record.partition == state.partition:
                state.last_event_offset = record.offset
            if self.scorer.learn(model, event):
                learned += 1
            else:
                unused += 1
        writes = {}
        for device_id, (state, model) in touched.items():
            state.model_state = self.scorer.close(device_id, model)
            writes[device_id] = (state.partition, encode_state(state))
        return LearnResult(writes, rejects, learned, unused, unknown, replayed)

    def _open(
        self, device_id: str, reading: Reading, partition: int, load: Callable[[str, int], bytes | None]
    ) -> tuple[DeviceState, WindowState, Live, Any]:
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
        return state, windows, live, self.scorer.open(device_id, state.device_type, state.model_state)

    def _close(self, device_id: str, state: DeviceState, windows: WindowState, live: Live, model: Any) -> bytes:
        state.model_state = self.scorer.close(device_id, model)
        state.watermark, state.closed_until = windows.watermark, windows.closed_until
        state.buckets = windows.stored()
        copy_live(state, live)
        return encode_state(state)


def windows_from_state(state: DeviceState) -> WindowState:
    return WindowState.from_stored(state.buckets, state.watermark, state.closed_until)


def copy_live(state: DeviceState, live: Live) -> None:
    state.first_seen, state.last_seen, state.cadence_ms = live.first_seen, live.last_seen, live.cadence_ms
    state.liveness, state.liveness_since = live.state, live.since


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
