"""The worker's high-volume outputs through librdkafka rather than Faust's aiokafka producer: about one
score, one stats record and one device-table changelog record per reading, far beyond what a
Python-level producer sustains next to the processing (profiled: aiokafka sending cost more than our
whole processing). Idempotent, lz4, murmur2 (Java-compatible keys).

Changelog records go through here too (with the readings' partition), and ONLY through the changelog
producer here, so the records of one device stay in order. Faust still restores the table from that
changelog topic.

Two producers: librdkafka reports the outputs' deliveries only when they fail (~2 records per reading, so no
Python callback per record: ~3 us CPU per reading with the model at 20 readings per message, profiled),
while every changelog record is reported, since its acknowledged offset tells the store how far it is
persisted (one record per device and batch).

`flush()` waits, off the event loop, until every record of the batch is acknowledged; a delivery failure
raises, so the batch's state never reaches the changelog and the readings are redone after a restart.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from confluent_kafka import KafkaError, Message

from core.kafka.producer import Headers, KafkaProducer
from core.settings import Settings

log = logging.getLogger(__name__)


class OutputError(RuntimeError):
    """Kafka did not acknowledge an output record."""


class Outputs:
    def __init__(self, settings: Settings, **config: Any) -> None:
        """`config`: more librdkafka settings for both producers."""
        self._failed: list[str] = []
        self.delivered: dict[tuple[str, int], int] = {}  # (topic, partition) -> newest acknowledged offset
        common = {"linger_ms": 5, "queue_max": 1_000_000, "queue_max_kbytes": 1_048_576, **config}
        self._producer = KafkaProducer(
            settings, **common, on_delivery=self._on_delivery, **{"delivery.report.only.error": True}
        )
        self._changelog = KafkaProducer(settings, **common, on_delivery=self._on_delivery)

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._failed.append(f"{message.topic()}: {error}")
        elif message.partition() is not None and message.offset() is not None:
            key = (message.topic(), message.partition())
            if message.offset() > self.delivered.get(key, -1):
                self.delivered[key] = message.offset()

    def produce(self, topic: str, records: list[tuple[bytes, bytes]]) -> None:
        self._producer.produce_many(topic, records)

    def produce_to(self, topic: str, partition: int, key: bytes, value: bytes, headers: Headers | None = None) -> None:
        """One record; partition -1 lets the (murmur2) partitioner choose from the key."""
        self._producer.produce(topic, key, value, partition=partition, headers=headers)

    def produce_changelog(self, topic: str, partition: int, key: bytes, value: bytes) -> None:
        """A table's changelog record, on the table's partition (the only way changelog records are sent)."""
        self._changelog.produce(topic, key, value, partition=partition)

    async def flush(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109 (librdkafka flush timeout)
        remaining = await asyncio.get_running_loop().run_in_executor(None, self._flush, timeout)
        if remaining or self._failed:
            failed, self._failed = self._failed[:5], []
            raise OutputError(f"{remaining} output records unacknowledged; failures: {failed}")

    def _flush(self, timeout: float) -> int:
        return self._producer.flush(timeout) + self._changelog.flush(timeout)
