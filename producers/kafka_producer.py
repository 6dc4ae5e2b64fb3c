"""An idempotent confluent-kafka producer for validated records, with backpressure and metrics."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaError, Message, Producer
from prometheus_client import Counter, Gauge

from fleetpulse.kafka_config import confluent_config
from fleetpulse.settings import Settings
from schemas import Reading, encode
from schemas.validation import check_plausible

log = logging.getLogger(__name__)

produced = Counter("fleetpulse_producer_records", "Records acknowledged by Kafka.", ["topic"])
delivery_errors = Counter("fleetpulse_producer_delivery_errors", "Records Kafka did not acknowledge.", ["topic"])
queue_depth = Gauge("fleetpulse_producer_queue_depth", "Records waiting in the producer's local queue.")


class ReadingProducer:
    """Validates before producing; blocks (polls) instead of growing memory when Kafka is slow."""

    def __init__(self, settings: Settings, *, linger_ms: int = 20, queue_max: int = 100_000) -> None:
        self.topic = settings.topic_readings
        self.acknowledged = 0
        self.failed = 0
        self._producer = Producer(
            confluent_config(
                settings,
                **{
                    "enable.idempotence": True,  # implies acks=all and no reordering on retry
                    "acks": "all",
                    "linger.ms": linger_ms,
                    "compression.type": "lz4",
                    "queue.buffering.max.messages": queue_max,
                },
            )
        )

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self.acknowledged += 1
            produced.labels(message.topic()).inc()
        else:
            self.failed += 1
            delivery_errors.labels(message.topic()).inc()
            log.error("delivery failed for key %s: %s", message.key(), error)

    def send(self, reading: Reading) -> None:
        check_plausible(reading)  # a producer never puts a record on Kafka that consumers would reject
        self.send_raw(reading.device_id.encode(), encode(reading))

    def send_raw(self, key: bytes, value: bytes) -> None:
        while True:
            try:
                self._producer.produce(self.topic, value=value, key=key, on_delivery=self._on_delivery)
                break
            except BufferError:  # local queue full: wait for deliveries rather than buffer without bound
                self._producer.poll(0.05)
        self._producer.poll(0)
        queue_depth.set(len(self._producer))

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for outstanding deliveries; returns how many are still unacknowledged."""
        remaining = self._producer.flush(timeout)
        queue_depth.set(remaining)
        return remaining
