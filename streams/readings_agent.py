"""The readings agent: batches of readings → scores, window stats and device state (streams/processor.py
does the work; this module moves batches and results, in the order that makes a crash safe)."""

from __future__ import annotations

import asyncio
import logging
import time

import faust

from streams import continuity, metrics
from streams.app import app, events_topic, readings_topic, scores_topic, settings, stats_topic
from streams.dead_letters import reject
from streams.device_store import applied, commit_states, load_state, mark_applied, write_state
from streams.lean_faust import take_batches
from streams.pipeline import batch_lock, outputs, processor
from streams.processor import Record

log = logging.getLogger(__name__)
DEAD_LETTERS = settings.topic_dead_letters
for _topic in (readings_topic, events_topic):  # exported at 0 from the start, so dashboards have a series
    metrics.skipped_records_read_back.labels(_topic.get_topic_name())


# A batch is bounded in bytes too: one reading is ~160 B of JSON, so 8 MiB is ~50k readings (~1 s with the
# model), however many a message carries; unbounded, 4,000 envelopes of 20 readings blocked the event loop for
# seconds (timers, commits and the latency of everything behind it). Smaller batches cost throughput: each
# device's state is opened and closed once per batch (a batch of 4 MiB, ~25k readings: -15 % at 20 readings
# per message, README's Throughput).
BATCH_BYTES = settings.worker_batch_kbytes * 1024


@app.agent(readings_topic)
async def process_readings(stream: faust.StreamT) -> None:
    batches = take_batches(stream, settings.worker_batch_size, settings.worker_batch_seconds, BATCH_BYTES)
    async for events in batches:
        async with batch_lock:
            await process_batch([record_of(event) for event in events])


async def process_batch(delivered: list[Record]) -> None:
    readings_name, scores_name, stats_name = (t.get_topic_name() for t in (readings_topic, scores_topic, stats_topic))
    started = time.perf_counter()
    batch = await complete(readings_name, delivered)
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
    mark_applied(readings_name, batch)
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
    metrics.duplicate_readings.inc(result.duplicated)
    metrics.batch_seconds.observe(elapsed)
    metrics.processing_seconds.observe(elapsed / len(batch))
    metrics.observe_many(metrics.event_lag_seconds, [max(0.0, lag) for lag in result.lags_s])


def record_of(event: faust.EventT) -> Record:
    message = event.message
    return Record(message.partition, message.offset, message.value or b"", message.key, int(message.timestamp * 1000))


async def complete(topic: str, delivered: list[Record]) -> list[Record]:
    """The batch plus whatever Faust skipped before it on its partitions, in offset order."""
    found = continuity.holes(delivered, applied(topic, {record.partition for record in delivered}))
    if not found:
        return continuity.in_offset_order(delivered)
    loop = asyncio.get_running_loop()
    read = [r for hole in found for r in await loop.run_in_executor(None, hole_reader().read, topic, hole)]
    log.warning("read back %d records of %s that Faust skipped: %s", len(read), topic, found)
    metrics.skipped_records_read_back.labels(topic).inc(len(read))
    return continuity.in_offset_order(delivered + read)


_hole_reader: continuity.HoleReader | None = None


def hole_reader() -> continuity.HoleReader:
    """One group-less reader per process, made on first need (most workers never see a hole)."""
    global _hole_reader
    if _hole_reader is None:
        _hole_reader = continuity.HoleReader(settings)
    return _hole_reader
