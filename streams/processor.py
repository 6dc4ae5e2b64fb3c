"""The worker's per-batch logic, framework-free: raw records in; scores, window stats, state writes and
rejects out. Faust only feeds batches and ships results (streams/readings_agent.py, events_agent.py), so this
is unit-testable and benchmarkable without Kafka.

Per batch each touched device's state is decoded once from the table and encoded once back, so the
changelog carries one record per device per batch, not one per reading.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, Final, NamedTuple

from schemas import InvalidRecord, Reading, Score, decode_batch, decode_event
from schemas.events import FailureLabel, Feedback
from schemas.validation import Rejected, encode_bound
from schemas.window_stats import EmittedWindowStats
from streams.admission import Admission, refused_part
from streams.alert_hold import AlertHold
from streams.decoded import Decoded
from streams.liveness import Live, PartitionClocks
from streams.scoring import DeviceContext, ModelScorer, Scorer
from streams.state import DeviceState, decode_state, encode_state, encode_state_bound
from streams.storage import StoragePolicy, window_rows
from streams.windows import SENSOR_NAMES, ClosedWindow, Stats, WindowState

_sensor_values: Final = attrgetter(*SENSOR_NAMES)  # a reading's window sensors in one call, None where absent
_encode: Final = encode_bound  # schemas' encode() without its Python frame (twice per reading)
_encode_state: Final = encode_state_bound  # encode_state() without its frame (once per device and batch)


class Record(NamedTuple):
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None  # for dead letters
    timestamp_ms: int | None = None  # the Kafka record's timestamp; None: unknown (the worker's clock is used)


_WHOLE_MESSAGE: Final = 1 << 30  # an element position past any envelope's last


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


RECENT_READINGS: Final = 16  # a retry arrives within seconds: the newest few event times of a device suffice


def _seen_before(state: DeviceState, ts: int) -> bool:
    """Whether the device already applied a reading with this event time; if not, remember it. A device
    reports one reading per event time, so the same time again is the same reading re-sent."""
    recent = state.recent_ts
    for seen in recent:  # compiled, a typed loop compares C ints (`in` made 16 rich comparisons per reading)
        if seen == ts:
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
        kept_devices: int = 0,
    ) -> None:
        """`kept_devices`: device states kept decoded between batches (streams.decoded.Decoded); 0: none."""
        self.lateness_ms = lateness_ms
        self.admission = admission  # None: every schema-valid reading is applied (unit tests, benches)
        self.storage = storage  # None: no store-bound outputs (the sinks read the full topics)
        self.clocks = clocks or PartitionClocks()
        self.scorer: Scorer = scorer or ModelScorer()
        self.live: dict[str, Live] = {}  # liveness index of the devices this worker owns
        self.latest: dict[str, tuple[Reading, Score]] = {}  # newest reading and score, for metrics
        self.alerts = AlertHold()  # what the device alert sees of each score (streams/alert_hold.py)
        self.last_window: dict[str, dict[str, Stats]] = {}  # newest closed 1-min window per sensor, for metrics
        self.kept: Decoded[bytes, tuple[DeviceState, WindowState]] = Decoded(kept_devices)

    def process(self, batch: Sequence[Record], load: Callable[[str, int], bytes | None]) -> BatchResult:
        now = time.time()
        now_ms = int(now * 1000)
        out = BatchResult([], [], {}, [], 0, 0, 0, [], [], [])
        scores, rejects, lags, stored_scores = out.scores, out.rejects, out.lags_s, out.stored_scores
        storage = self.storage
        select_scores = storage is not None and storage.select_scores
        writes = out.writes
        scorer, clocks, latest, lateness = self.scorer, self.clocks, self.latest, self.lateness_ms
        applied = late = replayed = duplicated = 0
        for device_id, arrived in self._by_device(batch, rejects, now_ms).items():
            first_partition, _, _, first = arrived[0]
            device = self._open(device_id, first, first_partition, load)
            for partition, offset, element, reading in arrived:
                # A position is (offset, element): a batch envelope carries several readings of a device under
                # one offset, and a message redelivered within one batch (after a rebalance) is seen twice.
                if partition == device.partition and (
                    offset < device.offset or (offset == device.offset and element <= device.element)
                ):
                    replayed += 1  # already applied: a replay after a crash or rebalance, or a redelivery
                    continue
                device.partition, device.offset, device.element = partition, offset, element
                state = device.state
                state.partition, state.last_offset = partition, offset
                ts = reading.ts
                if _seen_before(state, ts):
                    duplicated += 1  # a producer's retry (no idempotence, or a phone re-pushing): already applied
                    continue
                state.readings += 1
                windows = device.windows
                if not windows.add(ts, _sensor_values(reading), lateness):
                    state.late += 1
                    late += 1
                if windows.close_due(lateness):
                    self._emit_windows(device_id, device.key, reading.device_type, windows.close(lateness), out)
                live = device.live
                live.observe(ts)
                clocks.observe(partition, ts, device_id)
                score = scorer.score(device.model, reading, device.context, now_ms)
                state.score, state.score_ts, state.model = score.score, ts, score.model
                latest[device_id] = (reading, score)
                self.alerts.observe(device_id, score)
                scores.append((device.key, _encode(score)))
                if select_scores:
                    stored = storage.keep(state, score, live.state)  # type: ignore[union-attr]
                    if stored is not None:
                        stored_scores.append((device.key, stored))
                lags.append(now - ts / 1000)
                applied += 1
            writes[device_id] = (device.state.partition, self._close(device_id, device))
        return out._replace(applied=applied, late=late, replayed=replayed, duplicated=duplicated)

    def _by_device(
        self, batch: Sequence[Record], rejects: list[tuple[int, Rejected]], now_ms: int
    ) -> dict[str, list[tuple[int, int, int, Reading]]]:
        """The batch's admitted readings as (partition, offset, element, reading), grouped by device in the order
        devices first appear, each device's in offset order. A device's readings are then scored one after the
        other while its state is in the CPU's cache (interleaved, every reading found it evicted by thousands of
        other devices' states); devices share no state, so only the order of the outputs across keys changes."""
        grouped: dict[str, list[tuple[int, int, int, Reading]]] = {}
        for index, record in enumerate(batch):
            partition, offset = record.partition, record.offset
            for element, reading in enumerate(self._admitted(index, record, rejects, now_ms)):
                if reading is None:
                    continue  # refused: dead-lettered, but it keeps its position (the replay guard counts on it)
                arrived = grouped.get(reading.device_id)
                if arrived is None:
                    arrived = grouped[reading.device_id] = []
                arrived.append((partition, offset, element, reading))
        return grouped

    def _admitted(
        self, index: int, record: Record, rejects: list[tuple[int, Rejected]], now_ms: int
    ) -> list[Reading | None]:
        """The message's valid readings, each at its position among them (stable: decoding and admission are
        deterministic), from a single-reading message or a batch envelope alike, None where admission
        refused one; what is invalid or refused (the whole message, or one element) goes to `rejects`."""
        readings: list[Reading | None]
        readings, rejected = decode_batch(record.value)  # type: ignore[assignment]
        if rejected:
            rejects.extend((index, part) for part in rejected)
        admission = self.admission
        if admission is not None:
            for element, reading in enumerate(readings):
                refused = admission.refuse(record.partition, record.timestamp_ms, reading, now_ms)  # type: ignore[arg-type]
                if refused is not None:
                    part = refused_part(record.value, element, reading, rejected, refused)  # type: ignore[arg-type]
                    rejects.append((index, part))
                    readings[element] = None
        return readings

    def _emit_windows(
        self, device_id: str, key: bytes, device_type: str, closed: list[tuple[str, ClosedWindow]], out: BatchResult
    ) -> None:
        """The closed windows of one device: each to the stats topic; the 1-minute ones also to the metrics'
        newest windows and, one row per minute, to the store."""
        stats, closed_1m = out.stats, []
        for kind, window in closed:
            stats.append((key, _encode_stats(device_id, device_type, window)))
            if kind == "1m":
                newest = self.last_window.get(device_id)  # not setdefault: it built a dict per window
                if newest is None:
                    newest = self.last_window[device_id] = {}
                newest[window.sensor] = window.stats
                closed_1m.append(window)
        if closed_1m and self.storage is not None:
            out.stored_windows.extend(window_rows(key, device_id, device_type, closed_1m))

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
                model = self.scorer.open(event.device_id, state)
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
            self.scorer.close(device_id, model, state)
            writes[device_id] = (state.partition, encode_state(state))
        return LearnResult(writes, rejects, learned, unused, unknown, replayed)

    def _open(
        self, device_id: str, reading: Reading, partition: int, load: Callable[[str, int], bytes | None]
    ) -> _Device:
        raw = load(device_id, partition)
        kept = self.kept.take(device_id, raw) if raw is not None and device_id in self.live else None
        if kept is not None:
            state, windows = kept
        else:
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
        model = self.scorer.open(device_id, state)
        return _Device(device_id, state, windows, live, model)

    def _close(self, device_id: str, device: _Device) -> bytes:
        state, windows = device.state, device.windows
        self.scorer.close(device_id, device.model, state)
        state.watermark, state.closed_until = windows.watermark, windows.closed_until
        state.buckets = windows.stored()
        copy_live(state, device.live)
        raw: bytes = _encode_state(state)
        self.kept.put(device_id, raw, (state, windows))
        return raw


class _Device:
    """One device within a batch: its decoded state, windows, liveness and model, the scorer's context, and
    the newest position (partition, offset, element) applied to it: the replay guard."""

    __slots__ = ("context", "element", "key", "live", "model", "offset", "partition", "state", "windows")

    def __init__(self, device_id: str, state: DeviceState, windows: WindowState, live: Live, model: Any) -> None:
        self.key = device_id.encode()
        self.state, self.windows, self.live, self.model = state, windows, live, model
        self.context = DeviceContext(windows, live, state)
        # the stored state covers every reading of every message up to its last offset
        self.partition, self.offset, self.element = state.partition, state.last_offset, _WHOLE_MESSAGE


def windows_from_state(state: DeviceState) -> WindowState:
    return WindowState.from_stored(state.buckets, state.watermark, state.closed_until)


def copy_live(state: DeviceState, live: Live) -> None:
    state.first_seen, state.last_seen, state.cadence_ms = live.first_seen, live.last_seen, live.cadence_ms
    state.liveness, state.liveness_since = live.state, live.since


def live_from_state(state: DeviceState) -> Live:
    return Live(
        state.partition, state.first_seen, state.last_seen, state.cadence_ms, state.liveness, state.liveness_since
    )


def _encode_stats(device_id: str, device_type: str, window: ClosedWindow) -> bytes:
    start, end, sensor, s = window
    count, mean, low, high, std, last, slope = s  # not *s: compiled, a star call goes through the generic protocol
    return _encode(
        EmittedWindowStats(device_id, device_type, sensor, start, end, count, mean, low, high, std, last, slope)
    )
