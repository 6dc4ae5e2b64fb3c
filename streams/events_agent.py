"""The events agent: failure labels (simulator) and feedback verdicts (API/bot) teach the device's model.

The events topic has the readings' partition count and murmur2 keys, so Faust co-assigns an event's partition
with its device's readings partition: the device state is local. Liveness/lifecycle events are skipped."""

from __future__ import annotations

import faust

from streams import metrics
from streams.app import app, events_topic, settings
from streams.dead_letters import reject
from streams.device_store import commit_states, load_state, mark_applied, write_state
from streams.pipeline import batch_lock, outputs, processor
from streams.readings_agent import complete, record_of


@app.agent(events_topic)
async def learn_from_events(stream: faust.StreamT) -> None:
    events_name = events_topic.get_topic_name()
    async for events in stream.take_events(500, 1.0):
        async with batch_lock:  # learning and scoring never interleave on one device state
            batch = await complete(events_name, [record_of(event) for event in events])
            result = processor.learn(batch, load_state)
            for index, error in result.rejects:
                reject(outputs, settings.topic_dead_letters, events_name, batch[index], error, stage="worker-events")
            for device_id, (partition, value) in result.writes.items():
                write_state(device_id, partition, value)
            mark_applied(events_name, batch)
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
