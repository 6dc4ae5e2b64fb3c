"""The worker's Faust wiring: a batched agent (readings → scores + window stats + device state), an events
agent (failure labels and feedback → the device's model), the liveness sweep timer (→ device events), the
fleet-prior timer, and the metrics endpoint. The logic lives in streams/processor.py,
windows.py, liveness.py and kpis.py; this module only moves batches and results.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time

import faust
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from faust.types import TP
from prometheus_client import start_http_server

from fleetpulse.kafka_config import confluent_config
from schemas import encode
from schemas.events import Liveness
from streams import continuity, kpis, metrics, priors
from streams.app import app, applied_offsets, devices, events_topic, readings_topic, scores_topic, settings, stats_topic
from streams.dead_letters import reject
from streams.liveness import DEAD, STATES, LivenessConfig, PartitionClocks, sweep
from streams.outputs import Outputs
from streams.processor import Processor, Record, copy_live, live_from_state
from streams.scoring import ModelScorer, make_scorer
from streams.state import decode_state, encode_state
from streams.storage import StoragePolicy, score_record
from streams.windows import SENSOR_NAMES

log = logging.getLogger(__name__)

processor = Processor(
    lateness_ms=int(settings.worker_lateness_seconds * 1000),
    clocks=PartitionClocks(rate=settings.worker_event_clock_rate),
    scorer=make_scorer(settings.worker_scorer, settings.worker_model_cache_devices),
    storage=StoragePolicy.from_settings(settings),
)
liveness_config = LivenessConfig(
    late_factor=settings.worker_late_factor,
    silent_after_ms=int(settings.worker_silent_seconds * 1000),
    dead_after_ms=int(settings.worker_dead_seconds * 1000),
)
outputs = Outputs(settings)
_index_assignment: frozenset[int] | None = None


def load_state(device_id: str, partition: int | None = None) -> bytes | None:
    return _get(devices, device_id.encode(), partition)


def _get(table: faust.TableT, key: bytes, partition: int | None) -> bytes | None:
    store = table.data
    if partition is not None and hasattr(store, "_db_for_partition"):
        # RocksDB store: it picks the partition from the *current event*, which in a take() batch is the
        # last event's, not this key's; so address the key's partition explicitly.
        return store._db_for_partition(partition).get(key)
    return store.get(key)


CHANGELOG = devices.changelog_topic.get_topic_name()
APPLIED_CHANGELOG = applied_offsets.changelog_topic.get_topic_name()
DEAD_LETTERS = settings.topic_dead_letters
batch_lock = asyncio.Lock()  # a sweep's read-modify-write of a device never interleaves with a batch


def write_state(device_id: str, partition: int, value: bytes) -> None:
    """Store and changelog one device's state on the readings' partition (co-partitioned by construction)."""
    _put(devices, CHANGELOG, device_id.encode(), partition, value)


def _put(table: faust.TableT, changelog: str, key: bytes, partition: int, value: bytes) -> None:
    store = table.data
    if hasattr(store, "_db_for_partition"):  # RocksDB: explicit partition, as in _get
        store._db_for_partition(partition).put(key, value)
        store._key_index[key] = partition
    else:
        store[key] = value
    outputs.produce_to(changelog, partition, key, value)


def _applied(topic: str, partitions: set[int]) -> dict[int, int]:
    """Each partition's applied offset (streams/continuity.py), where one is stored."""
    stored = {p: _get(applied_offsets, _applied_key(topic, p), p) for p in partitions}
    return {p: int(raw) for p, raw in stored.items() if raw is not None}


def _mark_applied(topic: str, batch: list[Record]) -> None:
    """Called once the batch's state writes are queued: flushed with them, before the offsets commit."""
    applied = _applied(topic, {record.partition for record in batch})
    for partition, offset in continuity.newest_offsets(batch).items():
        if offset > applied.get(partition, -1):
            _put(applied_offsets, APPLIED_CHANGELOG, _applied_key(topic, partition), partition, b"%d" % offset)


def _applied_key(topic: str, partition: int) -> bytes:
    return f"{topic}/{partition}".encode()


async def commit_states() -> None:
    """Wait until the changelog records are acknowledged; tell a RocksDB store how far it is persisted."""
    await outputs.flush()
    for (topic, partition), offset in list(outputs.delivered.items()):  # a copy: delivery callbacks add keys
        for table, changelog in ((devices, CHANGELOG), (applied_offsets, APPLIED_CHANGELOG)):
            if topic == changelog:
                table.data.set_persisted_offset(TP(topic, partition), offset)


@app.agent(readings_topic)
async def process_readings(stream: faust.StreamT) -> None:
    readings_name, scores_name, stats_name = (t.get_topic_name() for t in (readings_topic, scores_topic, stats_topic))
    async for events in stream.take_events(settings.worker_batch_size, settings.worker_batch_seconds):
        async with batch_lock:
            await _process_batch([_record(event) for event in events], readings_name, scores_name, stats_name)


async def _process_batch(delivered: list[Record], readings_name: str, scores_name: str, stats_name: str) -> None:
    started = time.perf_counter()
    batch = await _complete(readings_name, delivered)
    result = processor.process(batch, load_state)
    outputs.produce(scores_name, result.scores)
    outputs.produce(stats_name, result.stats)
    outputs.produce(settings.topic_scores_store, result.stored_scores)
    outputs.produce(settings.topic_windows_store, result.stored_windows)
    for index, part in result.rejects:
        reject(outputs, DEAD_LETTERS, readings_name, batch[index], part.error, payload=part.payload, element=part.index)
    # Outputs must be acknowledged BEFORE the state that says "done" reaches the changelog: a state
    # restored after kill -9 makes the replay guard skip these readings, so their scores and stats
    # must already be in Kafka. (Crash before this point: nothing is committed, the batch is redone.)
    await outputs.flush()
    for device_id, (partition, value) in result.writes.items():
        write_state(device_id, partition, value)
    _mark_applied(readings_name, batch)
    await commit_states()  # before take_events acks the batch, so before its offsets can be committed
    elapsed = time.perf_counter() - started
    metrics.records_in.labels(readings_name).inc(len(batch))
    metrics.readings_applied.inc(result.applied)
    metrics.records_out.labels(scores_name).inc(len(result.scores))
    metrics.records_out.labels(stats_name).inc(len(result.stats))
    metrics.records_out.labels(settings.topic_scores_store).inc(len(result.stored_scores))
    metrics.records_out.labels(settings.topic_windows_store).inc(len(result.stored_windows))
    metrics.late_readings.inc(result.late)
    metrics.replayed_readings.inc(result.replayed)
    metrics.batch_seconds.observe(elapsed)
    metrics.processing_seconds.observe(elapsed / len(batch))
    for lag in result.lags_s:
        metrics.event_lag_seconds.observe(max(0.0, lag))


def _record(event: faust.EventT) -> Record:
    message = event.message
    return Record(message.partition, message.offset, message.value or b"", message.key)


async def _complete(topic: str, delivered: list[Record]) -> list[Record]:
    """The batch plus whatever Faust skipped before it on its partitions, in offset order."""
    found = continuity.holes(delivered, _applied(topic, {record.partition for record in delivered}))
    if not found:
        return continuity.in_offset_order(delivered)
    loop = asyncio.get_running_loop()
    read = [r for hole in found for r in await loop.run_in_executor(None, _reader().read, topic, hole)]
    log.warning("read back %d records of %s that Faust skipped: %s", len(read), topic, found)
    metrics.skipped_records_read_back.labels(topic).inc(len(read))
    return continuity.in_offset_order(delivered + read)


_hole_reader: continuity.HoleReader | None = None
for _topic in (readings_topic, events_topic):  # exported at 0 from the start, so dashboards have a series
    metrics.skipped_records_read_back.labels(_topic.get_topic_name())


def _reader() -> continuity.HoleReader:
    global _hole_reader
    if _hole_reader is None:
        _hole_reader = continuity.HoleReader(settings)
    return _hole_reader


stall_watch = continuity.StallWatch(settings.worker_stall_seconds)


@app.timer(interval=settings.worker_liveness_sweep_seconds)
async def take_over_stalled_partitions() -> None:
    """Apply, reading them directly, the records of a readings partition Faust stopped delivering; when
    Faust delivers them later they are replays. One batch per partition and tick. Under the batch lock:
    the hole reader's consumer is used by one task at a time."""
    if app.rebalancing or not app.tables.recovery.completed.is_set():
        return
    topic = readings_topic.get_topic_name()
    active = _active_partitions()
    stall_watch.forget(p for p in range(settings.topic_partitions) if p not in active)
    async with batch_lock:
        for partition in active:
            applied = _applied(topic, {partition}).get(partition)
            if applied is None:
                continue  # nothing applied here yet: Faust has not started on it, no stall to judge
            end = await asyncio.get_running_loop().run_in_executor(None, _reader().end_offset, topic, partition)
            if stall_watch.stalled(partition, applied, end, time.monotonic()):
                await _take_over(topic, continuity.Hole(partition, applied + 1, end))


async def _take_over(topic: str, hole: continuity.Hole) -> None:
    """Apply the stalled partition up to the end seen this tick, a batch at a time (one batch per tick
    could fall behind a partition that receives more than that)."""
    tp, consumer = TP(topic, hole.partition), app.consumer
    log.warning(
        "readings partition %d stalled in Faust at offset %d (end %d; active=%s paused=%s buffered=%s): "
        "applying it directly",
        hole.partition,
        hole.first - 1,
        hole.end,
        tp in (consumer._active_partitions or ()),
        tp in consumer._paused_partitions,
        tp in consumer._buffered_partitions,
    )
    names = [t.get_topic_name() for t in (readings_topic, scores_topic, stats_topic)]
    first = hole.first
    while first < hole.end:
        chunk = continuity.Hole(hole.partition, first, min(hole.end, first + settings.worker_batch_size))
        records = await asyncio.get_running_loop().run_in_executor(None, _reader().read, topic, chunk)
        metrics.stalled_records_taken_over.inc(len(records))
        if records:
            await _process_batch(records, *names)
        first = chunk.end


def _active_partitions() -> frozenset[int]:
    name = readings_topic.get_topic_name()
    return frozenset(tp.partition for tp in app.consumer.assignment() if tp.topic == name)


def _sync_index() -> None:
    """After a rebalance (and recovery), own exactly the devices of our active partitions, so the sweep also
    judges devices that stopped sending before this worker took them over."""
    global _index_assignment
    if app.rebalancing or not app.tables.recovery.completed.is_set():
        return
    active = _active_partitions()
    if active == _index_assignment:
        return
    index = processor.live
    for partition in [p for p in processor.clocks.clocks if p not in active]:
        del processor.clocks.clocks[partition]
    index.clear()  # rebuilt from the recovered table: it is the truth for the partitions we now own
    for key, value in list(devices.data.items()):
        state = decode_state(value)
        if state.partition in active:
            index[key.decode()] = live_from_state(state)
            # a partition's clock starts at its newest device, so silence is judged even if none reports
            processor.clocks.observe(state.partition, state.last_seen)
    for device_id in [d for d in processor.latest if d not in index]:
        del processor.latest[device_id]
    for device_id in [d for d in processor.last_window if d not in index]:
        del processor.last_window[device_id]
    _index_assignment = active
    log.info("liveness index: %d devices on partitions %s", len(index), sorted(active))


@app.timer(interval=settings.worker_liveness_sweep_seconds)
async def liveness_sweep() -> None:
    async with batch_lock:
        await _sweep()


async def _sweep() -> None:
    _sync_index()
    now = processor.clocks.now()
    if now:
        persist = []
        for change in sweep(processor.live, now, liveness_config):
            live = change.live
            event = Liveness(
                device_id=change.device_id,
                ts=change.at_ms,
                state=STATES[change.state],  # type: ignore[arg-type]
                previous_state=STATES[change.previous],  # type: ignore[arg-type]
                last_seen_ts=live.last_seen,
                expected_interval_ms=int(live.cadence_ms) if live.cadence_ms >= 1 else None,
            )
            outputs.produce_to(events_topic.get_topic_name(), live.partition, change.device_id.encode(), encode(event))
            metrics.liveness_transitions.labels(STATES[change.state]).inc()
            metrics.records_out.labels(events_topic.get_topic_name()).inc()
            if change.state == DEAD:
                metrics.device_lifespan_seconds.observe((live.last_seen - live.first_seen) / 1000)
            persist.append((change, _store_liveness(change.device_id, change.state)))
        await outputs.flush()  # the events first, then the state that says they were sent
        for change, stored in persist:
            raw = load_state(change.device_id)
            if raw is not None:  # persisted, so a restart does not emit the transition again
                state = decode_state(raw)
                copy_live(state, change.live)
                if stored:
                    state.stored_liveness = change.state
                write_state(change.device_id, change.live.partition, encode_state(state))
        await commit_states()
    metrics.collector.snapshot = _snapshot(now)


def _store_liveness(device_id: str, state: int) -> bool:
    """Under the aggregated policy a liveness change rewrites the device's status row: its newest score with
    the new verdict (the row is otherwise written only when the score matters). False when nothing was sent."""
    storage, newest = processor.storage, processor.latest.get(device_id)
    if storage is None or not storage.select_scores or newest is None:
        return False
    outputs.produce_to(settings.topic_scores_store, -1, device_id.encode(), score_record(newest[1], state))
    metrics.records_out.labels(settings.topic_scores_store).inc()
    return True


def _snapshot(now: dict[int, int]) -> metrics.Snapshot:
    latest, live = processor.latest, processor.live
    ranked = latest.items()
    if settings.worker_device_metrics == "top":
        ranked = heapq.nlargest(settings.worker_device_metrics_top_k, latest.items(), key=lambda kv: kv[1][1].score)
    rows, reasons, windows = [], [], []
    for device_id, (reading, score) in ranked:
        values = {name: float(v) for name in SENSOR_NAMES if (v := getattr(reading, name)) is not None}
        state = live[device_id].state if device_id in live else 0
        rows.append((device_id, values, score.score, state))
        reasons.append((device_id, {r.sensor: r.contribution for r in reversed(score.reasons)}))  # max wins
        windows.append((device_id, processor.last_window.get(device_id, {})))
    fleet = kpis.compute(live.values(), now)
    lag, topic, active = {}, readings_topic.get_topic_name(), _active_partitions()
    applied = _applied(topic, set(active))  # every offset up to it applied (streams/continuity.py)
    for partition in active:
        high = app.consumer.highwater(TP(topic, partition))
        if high is not None:
            lag[partition] = max(0, high - applied.get(partition, -1) - 1)
    recovery = app.tables.recovery
    return metrics.Snapshot(
        devices=rows,
        reasons=reasons,
        windows=windows,
        by_state=fleet.by_state,
        at_risk=sum(1 for _, score in latest.values() if score.score >= 0.5),
        kpis={
            "silent_over_10m_ratio": fleet.silent_over_10m_share,
            "report_interval_mean_seconds": fleet.report_interval_mean_s,
            "report_interval_median_seconds": fleet.report_interval_median_s,
            "lifespan_mean_seconds": fleet.lifespan_mean_s,
            "lifespan_median_seconds": fleet.lifespan_median_s,
        },
        consumer_lag=lag,
        table_keys={"devices": len(devices.data), "liveness_index": len(live)},
        recovery_remaining={
            "active": recovery.active_remaining_total(),
            "standby": recovery.standby_remaining_total(),
        },
        recovery_completed=int(recovery.completed.is_set()),
    )


@app.agent(events_topic)
async def learn_from_events(stream: faust.StreamT) -> None:
    """Failure labels (simulator) and feedback verdicts (API/bot) teach the device's model. The events topic
    has the readings' partition count and murmur2 keys, so Faust co-assigns an event's partition with its
    device's readings partition: the device state is local. Liveness/lifecycle events are skipped."""
    events_name = events_topic.get_topic_name()
    async for events in stream.take_events(500, 1.0):
        async with batch_lock:  # learning and scoring never interleave on one device state
            batch = await _complete(events_name, [_record(event) for event in events])
            result = processor.learn(batch, load_state)
            for index, error in result.rejects:
                reject(outputs, DEAD_LETTERS, events_name, batch[index], error, stage="worker-events")
            for device_id, (partition, value) in result.writes.items():
                write_state(device_id, partition, value)
            _mark_applied(events_name, batch)
            await commit_states()
        metrics.records_in.labels(events_name).inc(len(batch))
        for outcome, count in (
            ("learned", result.learned),
            ("nothing_to_learn", result.unused),
            ("unknown_device", result.unknown),
            ("replayed", result.replayed),
        ):
            if count:
                metrics.model_events.labels(outcome).inc(count)


PRIORS_TOPIC = f"{settings.worker_app_id}-model-priors"  # compacted: the newest entry per type and worker
PRIOR_MODELS_PER_TYPE = 200  # bounds the event-loop time of one aggregation
PRIOR_MAX_AGE_MS = 24 * 3600 * 1000  # a worker gone this long no longer counts
_prior_entries: dict[bytes, bytes] = {}
_prior_reader: Consumer | None = None


@app.timer(interval=settings.worker_prior_seconds)
async def publish_priors() -> None:
    """Aggregate the models held here per device type, publish, merge every worker's entries, set_prior."""
    global _prior_reader
    scorer = processor.scorer
    if not isinstance(scorer, ModelScorer) or app.rebalancing or not app.tables.recovery.completed.is_set():
        return
    if _prior_reader is None:
        topic = app.topic(PRIORS_TOPIC, partitions=1, compacting=True, deleting=False)
        await topic.maybe_declare()
        _prior_reader = Consumer(
            confluent_config(
                settings,
                **{"group.id": f"{settings.worker_app_id}-priors", "enable.auto.commit": False, "log_level": 0},
            )
        )
        _prior_reader.assign([TopicPartition(PRIORS_TOPIC, 0, OFFSET_BEGINNING)])
    async with batch_lock:
        models = priors.local_models(devices.data.values(), PRIOR_MODELS_PER_TYPE)
    own = scorer.service.aggregate(models) if models else []
    records = priors.publish(own, str(app.conf.canonical_url))
    # Queued only: the next batch's flush delivers them. Flushing here, outside the batch lock, would serve
    # delivery callbacks in a second thread while a batch reads `outputs.delivered`.
    outputs.produce(PRIORS_TOPIC, records)
    _prior_entries.update(records)  # our own entries count even before they are read back
    while (message := _prior_reader.poll(0)) is not None:  # non-blocking: what has been fetched so far
        if message.error() is None and message.key() is not None:
            if message.value() is None:
                _prior_entries.pop(message.key(), None)
            else:
                _prior_entries[message.key()] = message.value()
    for prior in priors.merged(_prior_entries, PRIOR_MAX_AGE_MS):
        scorer.service.set_prior(prior)
        metrics.prior_devices.labels(prior.device_type or "").set(prior.devices)


@app.task
async def serve_metrics() -> None:
    start_http_server(settings.worker_metrics_port, addr=settings.bind_host)


from streams import views  # noqa: E402,F401  (registers the web views; they read this module)
