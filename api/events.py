"""Feedback on an alert becomes a label event on the device-events topic (schemas.events.Feedback),
keyed by device_id like every other device event, so the model's consumer sees it in device order."""

from __future__ import annotations

import msgspec

from core.kafka.producer import KafkaProducer
from core.settings import Settings
from schemas.events import Feedback


class EventPublisher:
    def __init__(self, settings: Settings) -> None:
        self.topic = settings.topic_events
        self.producer = KafkaProducer(settings, linger_ms=0, log_level=0)

    def feedback(self, event: Feedback, timeout: float = 10.0) -> None:
        """Produce and wait for the broker's ack: the API answers 202 only for a stored label."""
        errors: list[str] = []
        self.producer.produce(
            self.topic,
            event.device_id.encode(),
            msgspec.json.encode(event),
            on_delivery=lambda error, _msg: errors.append(str(error)) if error else None,
        )
        if self.producer.flush(timeout) != 0 or errors:
            raise RuntimeError(f"feedback not acknowledged by Kafka: {errors or 'timeout'}")
