"""Group-less readers: consumers that are assigned partitions (never subscribe) and never commit, for the
worker's hole read-back and prior topic, the snapshot tools and the API's topic probes."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Consumer, TopicPartition

from core.kafka.config import confluent_config
from core.settings import Settings


def reader(settings: Settings, name: str, **config: Any) -> Consumer:
    """`name` becomes the group id librdkafka requires; with assign() and no commits it joins no group."""
    options = {"group.id": name, "enable.auto.commit": False, "enable.auto.offset.store": False, "log_level": 0}
    return Consumer(confluent_config(settings, **(options | config)))


def records_produced(settings: Settings, topic: str, partitions: int) -> int:
    """The sum of the topic's high watermarks: how many records were ever produced to it."""
    consumer = reader(settings, "fleetpulse-topic-probe")
    try:
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions))
    finally:
        consumer.close()
