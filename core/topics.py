"""Create the project's topics (idempotent) with the configured partitions and replication."""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from core.kafka.config import confluent_config
from core.settings import Settings


def project_topics(settings: Settings) -> list[str]:
    return [
        settings.topic_readings,
        settings.topic_scores,
        settings.topic_dead_letters,
        settings.topic_events,
        settings.topic_stats,
        settings.topic_scores_store,
        settings.topic_windows_store,
    ]


def create_topics(
    settings: Settings, names: list[str] | None = None, config: dict[str, str] | None = None
) -> list[str]:
    """Create missing topics (with topic `config`, e.g. compaction); returns those created."""
    admin = AdminClient(confluent_config(settings))
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [name for name in (names or project_topics(settings)) if name not in existing]
    if not wanted:
        return []
    futures = admin.create_topics(
        [
            NewTopic(name, settings.topic_partitions, settings.topic_replication_factor, config=config or {})
            for name in wanted
        ]
    )
    for future in futures.values():
        try:
            future.result(30)
        except KafkaException as error:
            if error.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise
    return wanted


def priors_topic(app_id: str) -> str:
    """The workers' compacted fleet-prior topic: the newest entry per device type and worker."""
    return f"{app_id}-model-priors"
