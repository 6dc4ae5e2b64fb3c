"""The stall watch timer: applies, reading them directly, the records of a readings partition Faust stopped
delivering; when Faust delivers them later they are replays (streams/continuity.py judges a stall)."""

from __future__ import annotations

import asyncio
import logging
import time

from confluent_kafka import KafkaException
from faust.types import TP

from streams import continuity, metrics
from streams.app import app, readings_topic, settings
from streams.device_store import applied
from streams.pipeline import active_partitions, batch_lock, settled
from streams.readings_agent import hole_reader, process_batch

log = logging.getLogger(__name__)
stall_watch = continuity.StallWatch(settings.worker_stall_seconds)


@app.timer(interval=settings.worker_liveness_sweep_seconds)
async def take_over_stalled_partitions() -> None:
    """Under the batch lock: the hole reader's consumer is used by one task at a time."""
    if not settled():
        return
    topic = readings_topic.get_topic_name()
    active = active_partitions()
    stall_watch.forget(p for p in range(settings.topic_partitions) if p not in active)
    async with batch_lock:
        for partition in active:
            done = applied(topic, {partition}).get(partition)
            if done is None:
                continue  # nothing applied here yet: Faust has not started on it, no stall to judge
            try:
                end = await asyncio.get_running_loop().run_in_executor(None, hole_reader().end_offset, topic, partition)
            except KafkaException as error:  # broker unreachable (a restart): no stall can be judged this tick
                log.warning("stall watch skipped partition %d: %s", partition, error)
                continue
            if stall_watch.stalled(partition, done, end, time.monotonic()):
                await _take_over(topic, continuity.Hole(partition, done + 1, end))


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
    first = hole.first
    while first < hole.end:
        chunk = continuity.Hole(hole.partition, first, min(hole.end, first + settings.worker_batch_size))
        records = await asyncio.get_running_loop().run_in_executor(None, hole_reader().read, topic, chunk)
        metrics.stalled_records_taken_over.inc(len(records))
        if records:
            await process_batch(records)
        first = chunk.end
