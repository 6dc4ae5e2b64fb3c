"""The Faust application and its topics. Everything is raw bytes on the wire; schemas/ decodes."""

from __future__ import annotations

import faust

from fleetpulse.kafka_config import faust_broker_credentials, faust_broker_url
from fleetpulse.settings import get_settings

settings = get_settings()

app = faust.App(
    settings.worker_app_id,
    broker=faust_broker_url(settings),
    broker_credentials=faust_broker_credentials(settings),
    store=settings.worker_store,
    web_port=settings.worker_web_port,
    web_host=settings.bind_host,
    topic_partitions=settings.topic_partitions,
    topic_replication_factor=settings.topic_replication_factor,
    producer_acks=-1,
    autodiscover=False,
    origin="streams",
)


def raw_topic(name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")


readings_topic = raw_topic(settings.topic_readings)
scores_topic = raw_topic(settings.topic_scores)
dead_letters_topic = raw_topic(settings.topic_dead_letters)
