"""The Faust application, its topics and its table. Everything is raw bytes on the wire; schemas/ decodes."""

from __future__ import annotations

from pathlib import Path

import faust
from faust.types import TransportT

from core.kafka.config import faust_broker_credentials, faust_broker_url
from core.settings import get_settings
from streams.lean_faust import BatchMonitor, LeanConsumer, RawSchema

settings = get_settings()
DATA_DIR = Path(settings.stack_dir) / "worker-data"  # Faust's per-app data (RocksDB), not in the checkout
DATA_DIR.mkdir(parents=True, exist_ok=True)


class App(faust.App):
    def _new_transport(self) -> TransportT:
        transport = super()._new_transport()
        transport.Consumer = LeanConsumer  # streams/lean_faust.py: no four tasks per message
        return transport


app = App(
    settings.worker_app_id,
    broker=faust_broker_url(settings),
    broker_credentials=faust_broker_credentials(settings),
    store=settings.worker_store,
    datadir=str(DATA_DIR / "{conf.id}"),
    web_port=settings.worker_web_port,
    web_host=settings.bind_host,
    canonical_url=f"http://{settings.bind_host}:{settings.worker_web_port}",
    topic_partitions=settings.topic_partitions,
    topic_replication_factor=settings.topic_replication_factor,
    table_standby_replicas=settings.worker_standby_replicas,
    broker_session_timeout=settings.worker_session_timeout_seconds,
    producer_acks=-1,
    producer_linger_ms=5,  # lets aiokafka batch the scores, stats and changelog records of one take()
    # Room for many batches: while a batch is processed the event loop cannot drain the fetched messages, and
    # a buffer of two batches filled up, paused the partitions and left the worker waiting for the next fetch
    # about half the time at one reading per message.
    stream_buffer_maxsize=max(4096, 16 * settings.worker_batch_size),
    broker_max_poll_records=max(500, settings.worker_batch_size),
    autodiscover=False,
    origin="streams",
    Monitor=BatchMonitor,  # streams/lean_faust.py: no per-message sensor work
)


def raw_topic(name: str) -> faust.TopicT:
    schema = RawSchema(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    return app.topic(name, schema=schema)


readings_topic = raw_topic(settings.topic_readings)
scores_topic = raw_topic(settings.topic_scores)
events_topic = raw_topic(settings.topic_events)
stats_topic = raw_topic(settings.topic_stats)

# device_id (bytes) -> streams.state.DeviceState (msgpack). Written with an explicit partition (the
# readings' partition) because a take() batch mixes partitions; see streams/device_store.py.
devices = app.Table(
    "devices",
    key_type=bytes,
    value_type=bytes,
    partitions=settings.topic_partitions,
)

# b"<input topic>/<partition>" -> the newest offset applied there, every older one applied too (ASCII
# digits), for the readings and events topics. Written on the input's partition number, so its changelog
# moves with the partition; see streams/continuity.py.
applied_offsets = app.Table(
    "applied-offsets",
    key_type=bytes,
    value_type=bytes,
    partitions=settings.topic_partitions,
)
