"""The producers' side of Kafka: validated readings and events, dead letters, and counts of what Kafka acknowledged.

Every producer of the project (simulator, host agent, phone ingestion) goes through `ReadingProducer`, built on
the one Kafka producer (core/kafka/producer.py: idempotence + acks=all, so no loss, no duplicates, no reordering
on retry; a bounded local queue, so a slow Kafka blocks the caller instead of growing memory).
"""

from __future__ import annotations

import logging
import signal
import time
from functools import partial
from typing import Any

import msgspec
from confluent_kafka import KafkaError, Message
from prometheus_client import Counter, Gauge

from core.kafka.producer import DeliveryCallback, KafkaProducer
from core.settings import Settings
from schemas import DeadLetter, Reading, dead_letter_headers, encode
from schemas.validation import check_plausible

log = logging.getLogger(__name__)

produced = Counter("fleetpulse_producer_records", "Records acknowledged by Kafka.", ["topic"])
delivery_errors = Counter("fleetpulse_producer_delivery_errors", "Records Kafka did not acknowledge.", ["topic"])
rejected = Counter("fleetpulse_producer_rejected", "Records refused before producing, by reason.", ["reason"])
queue_depth = Gauge("fleetpulse_producer_queue_depth", "Records waiting in the producer's local queue.")


class ReadingProducer:
    """Validates before producing; blocks (polls) instead of growing memory when Kafka is slow."""

    def __init__(self, settings: Settings, *, stage: str = "producer", **options: Any) -> None:
        """`options` tune the Kafka producer (core/kafka/producer.py), e.g. linger_ms."""
        self.topic = settings.topic_readings
        self.topic_events = settings.topic_events
        self.topic_dead_letters = settings.topic_dead_letters
        self.stage = stage
        self.acknowledged = 0
        self.acknowledged_messages = 0
        self.failed = 0
        self.acknowledged_by_topic: dict[str, int] = {}
        for topic in (self.topic, self.topic_events, self.topic_dead_letters):
            delivery_errors.labels(topic)  # exported as 0 from the start, so rate() and alerts see the series
        self._producer = KafkaProducer(settings, **options)

    def _on_delivery(self, error: KafkaError | None, message: Message, records: int = 1) -> None:
        """Counts records, not messages: a batch envelope message carries `records` readings."""
        topic = message.topic()
        if error is None:
            self.acknowledged += records
            self.acknowledged_by_topic[topic] = self.acknowledged_by_topic.get(topic, 0) + records
            self.acknowledged_messages += 1
            produced.labels(topic).inc(records)
        else:
            self.failed += records
            delivery_errors.labels(topic).inc(records)
            log.error("delivery failed for key %s: %s", message.key(), error)

    def send(self, reading: Reading, on_delivery: DeliveryCallback | None = None) -> None:
        check_plausible(reading)  # a producer never puts a record on Kafka that consumers would reject
        self.send_raw(reading.device_id.encode(), encode(reading), on_delivery=on_delivery)

    def send_raw(
        self,
        key: bytes,
        value: bytes,
        *,
        topic: str | None = None,
        on_delivery: Any = None,
        partition: int | None = None,
        records: int = 1,
        headers: list[tuple[str, bytes]] | None = None,
        timestamp_ms: int | None = None,
    ) -> None:
        """Produce pre-encoded, already validated bytes (the simulator validates a whole round at once).
        `partition` overrides the key's partition (batch envelopes pick it); `records` is how many
        readings the message carries, for the acknowledged counts; `timestamp_ms` the record's timestamp
        (default: now)."""
        callback = self._on_delivery if records == 1 else partial(self._on_delivery, records=records)
        if on_delivery is not None:
            counted = callback
            extra = on_delivery

            def callback(error: KafkaError | None, message: Message) -> None:
                counted(error, message)
                extra(error, message)

        self._producer.produce(
            topic or self.topic,
            key,
            value,
            partition=partition,
            headers=headers,
            on_delivery=callback,
            timestamp_ms=timestamp_ms,
        )
        self._producer.poll(0)

    def partition_count(self, topic: str | None = None, timeout: float = 10.0) -> int:
        """The topic's partition count from the cluster's metadata (once, at start: it only grows by hand)."""
        return self._producer.partition_count(topic or self.topic, timeout)

    def send_event(self, event: msgspec.Struct) -> None:
        self.send_raw(event.device_id.encode(), encode(event), topic=self.topic_events)  # type: ignore[attr-defined]

    def dead_letter(self, key: str | None, payload: bytes, reason: str, error: str) -> None:
        """Input this producer refused: to the dead-letter topic with the reason, and counted."""
        rejected.labels(reason).inc()
        letter = DeadLetter(
            stage=self.stage,
            reason=reason,
            error=error,
            key=key,
            payload=payload.decode("utf-8", errors="replace"),
            rejected_at=int(time.time() * 1000),
        )
        self.send_raw(
            (key or "").encode(), encode(letter), topic=self.topic_dead_letters, headers=dead_letter_headers(letter)
        )

    def poll(self, timeout: float = 0) -> None:
        self._producer.poll(timeout)
        queue_depth.set(len(self._producer))

    def pending(self) -> int:
        return len(self._producer)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for outstanding deliveries; returns how many are still unacknowledged."""
        remaining = self._producer.flush(timeout)
        queue_depth.set(remaining)
        return remaining


class StopFlag:
    """Set by SIGTERM/SIGINT so a loop finishes its current step and flushes instead of dying mid-batch."""

    def __init__(self) -> None:
        self.stopping = False
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)

    def _stop(self, signum: int, _frame: object) -> None:
        log.info("signal %s: stopping after the current step, then flushing", signal.Signals(signum).name)
        self.stopping = True

    def sleep(self, seconds: float) -> None:
        """Sleep in short steps so a stop request is noticed quickly."""
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))
