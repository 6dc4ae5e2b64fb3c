"""The project's one Kafka producer: librdkafka with idempotence, acks=all, lz4 and murmur2 keys (the
partitions Java clients and Faust pick), and backpressure: when its local queue is full it serves delivery
reports until there is room, instead of growing memory or dropping. The simulator, host agent, phone
ingestion, query API, the worker's outputs and the snapshot tools all produce through it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from core.kafka.config import confluent_producer_config
from core.settings import Settings

DeliveryCallback = Callable[[KafkaError | None, Message], None]
Headers = list[tuple[str, bytes]]


class KafkaProducer:
    def __init__(
        self,
        settings: Settings,
        *,
        linger_ms: int = 20,
        queue_max: int = 100_000,
        queue_max_kbytes: int = 64 * 1024,
        on_delivery: DeliveryCallback | None = None,
        **config: Any,
    ) -> None:
        """`on_delivery` reports every record (a per-record callback passed to `produce` replaces it)."""
        options = {
            "linger.ms": linger_ms,
            "compression.type": "lz4",
            "queue.buffering.max.messages": queue_max,
            "queue.buffering.max.kbytes": queue_max_kbytes,
            **({"on_delivery": on_delivery} if on_delivery is not None else {}),
            **config,
        }
        self._producer = Producer(confluent_producer_config(settings, **options))

    def produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        *,
        partition: int | None = None,
        headers: Headers | None = None,
        on_delivery: DeliveryCallback | None = None,
        timestamp_ms: int | None = None,
    ) -> None:
        """Queue one record; `partition` None (or -1) lets the murmur2 partitioner choose from the key;
        `timestamp_ms` None stamps it with the producer's clock."""
        if headers is None and on_delivery is None and timestamp_ms is None:  # the common record: no dict
            try:
                self._producer.produce(topic, value, key, -1 if partition is None else partition)
                return
            except BufferError:
                pass  # the loop below waits for room
        # librdkafka wants these arguments absent (not None) to use its defaults
        extra: dict[str, Any] = {} if partition is None or partition < 0 else {"partition": partition}
        if on_delivery is not None:
            extra["on_delivery"] = on_delivery
        if timestamp_ms is not None:
            extra["timestamp"] = timestamp_ms
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, headers=headers, **extra)
                return
            except BufferError:  # local queue full: serve delivery reports, then retry
                self._producer.poll(0.05)

    def produce_many(self, topic: str, records: list[tuple[bytes, bytes]], partition: int = -1) -> None:
        """Queue (key, value) records without `produce`'s per-record argument handling (the worker sends
        several records per reading); a full queue falls back to `produce`, which waits for room."""
        produce = self._producer.produce
        for key, value in records:
            try:
                produce(topic, value, key, partition)
            except BufferError:
                self.produce(topic, key, value, partition=partition)

    def poll(self, timeout: float = 0.0) -> int:
        return self._producer.poll(timeout)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for outstanding deliveries; returns how many are still unacknowledged."""
        return self._producer.flush(timeout)

    def __len__(self) -> int:
        return len(self._producer)

    def partition_count(self, topic: str, timeout: float = 10.0) -> int:
        """The topic's partition count from the cluster's metadata (once, at start: it only grows by hand)."""
        metadata = self._producer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            problem = metadata and metadata.error
            raise RuntimeError(f"topic {topic} has no partitions in the cluster metadata: {problem}")
        return len(metadata.partitions)
