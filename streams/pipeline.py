"""What the worker's agents and timers share: one processor (the framework-free logic), one output producer,
and the lock that keeps a batch, a sweep and an event's learning from interleaving on one device state."""

from __future__ import annotations

import asyncio

from schemas.admission import TimeBounds
from streams.admission import Admission
from streams.app import app, readings_topic, settings
from streams.liveness import LivenessConfig, PartitionClocks
from streams.outputs import Outputs
from streams.processor import Processor
from streams.scoring import make_scorer
from streams.storage import StoragePolicy

processor = Processor(
    lateness_ms=int(settings.worker_lateness_seconds * 1000),
    clocks=PartitionClocks(rate=settings.worker_event_clock_rate),
    scorer=make_scorer(
        settings.worker_scorer, settings.worker_model_cache_devices, settings.worker_model_checkpoint_readings
    ),
    admission=Admission(
        TimeBounds.from_seconds(settings.event_time_max_ahead_seconds, settings.event_time_max_age_seconds),
        settings.topic_partitions,  # the readings topic's: Faust refuses to start when its tables' count differs
    ),
    storage=StoragePolicy.from_settings(settings),
    kept_devices=settings.worker_model_cache_devices,  # states kept decoded as many as models
)
liveness_config = LivenessConfig.of(settings)
outputs = Outputs(settings)
batch_lock = asyncio.Lock()


def active_partitions() -> frozenset[int]:
    """The readings partitions this worker is assigned now."""
    name = readings_topic.get_topic_name()
    return frozenset(tp.partition for tp in app.consumer.assignment() if tp.topic == name)


def settled() -> bool:
    """Not rebalancing and the tables recovered: only then do timers act on the assignment."""
    return not app.rebalancing and app.tables.recovery.completed.is_set()
