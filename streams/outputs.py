"""The worker's high-volume outputs through librdkafka rather than Faust's aiokafka producer: about one
score, one stats record and one device-table changelog record per reading, far beyond what a
Python-level producer sustains next to the processing (profiled: aiokafka sending cost more than our
whole processing). Idempotent, lz4, murmur2 (Java-compatible keys).

Changelog records go through here too (with the readings' partition), and ONLY through here, so the
records of one device stay in order. Faust still restores the table from that changelog topic.

`flush()` waits, off the event loop, until every record of the batch is acknowledged; a delivery failure
raises, so the batch's state never reaches the changelog and the readings are redone after a restart.
"""

from __future__ import annotations

import asyncio
import logging

from confluent_kafka import KafkaError, Message

from core.kafka.producer import Headers, KafkaProducer
from core.settings import Settings

log = logging.getLogger(__name__)


class OutputError(RuntimeError):
    """Kafka did not acknowledge an output record."""


class Outputs:
    def __init__(self, settings: Settings) -> None:
        self._failed: list[str] = []
        self.delivered: dict[tuple[str, int], int] = {}  # (topic, partition) -> newest acknowledged offset
        self._producer = KafkaProducer(
            settings, linger_ms=5, queue_max=1_000_000, queue_max_kbytes=1_048_576, on_delivery=self._on_delivery
        )

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

    async def flush(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109 (librdkafka flush timeout)
        remaining = await asyncio.get_running_loop().run_in_executor(None, self._producer.flush, timeout)
        if remaining or self._failed:
            failed, self._failed = self._failed[:5], []
            raise OutputError(f"{remaining} output records unacknowledged; failures: {failed}")
