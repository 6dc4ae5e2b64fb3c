"""Prometheus metrics of the API, including the size of the sinks' dead-letter topic.

`fleetpulse_api_connect_dead_letter_records` is read from Kafka's watermarks at scrape time (sum over
partitions of high - low), so an alert `increase(...[10m]) > 0` fires when a sink rejects a record.
"""

from __future__ import annotations

from collections.abc import Iterator

from confluent_kafka import TopicPartition
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.kafka.consumer import reader
from core.settings import Settings


class DeadLetterTopicSize(Collector):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topic = settings.topic_connect_dead_letters

    def records(self) -> int | None:
        """Records currently in the topic; 0 when it does not exist yet (nothing was rejected)."""
        consumer = reader(self.settings, "fleetpulse-api-dlq-probe")
        try:
            metadata = consumer.list_topics(self.topic, timeout=5).topics.get(self.topic)
            if metadata is None or metadata.error is not None:
                return 0
            total = 0
            for partition in metadata.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(self.topic, partition), timeout=5)
                total += high - low
            return total
        except Exception:
            return None  # Kafka unreachable: no sample rather than a wrong 0
        finally:
            consumer.close()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "fleetpulse_api_connect_dead_letter_records",
            "Records in the Kafka Connect sinks' dead-letter topic",
            labels=["topic"],
        )
        value = self.records()
        if value is not None:
            gauge.add_metric([self.topic], value)
        yield gauge


class ApiMetrics:
    def __init__(self, settings: Settings) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "fleetpulse_api_requests_total",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "fleetpulse_api_request_seconds", "HTTP request latency by route", ["route"], registry=self.registry
        )
        self.feedback = Counter(
            "fleetpulse_api_feedback_total",
            "Alert feedback events produced, by verdict",
            ["verdict"],
            registry=self.registry,
        )
        self.registry.register(DeadLetterTopicSize(settings))
