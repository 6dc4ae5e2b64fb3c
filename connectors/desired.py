"""The connector configs we want running: the JSON files in connectors/, with the names that depend on
settings (topics, tables, the dead-letter topic, the readings TTL) filled in from the settings, so one
set of files serves the demo, the tests (isolated names) and production."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from connectors.rest import CONFIG_DIR, load
from core.settings import Settings


@dataclass(frozen=True)
class Sink:
    file: str
    topic_field: str
    table_field: str


SINKS = {
    "readings": Sink("readings-dynamodb.json", "topic_readings", "table_readings"),
    "scores": Sink("scores-dynamodb.json", "topic_scores", "table_scores"),
    "events": Sink("events-dynamodb.json", "topic_events", "table_events"),
    "device-status": Sink("device-status-dynamodb.json", "topic_scores", "table_device_status"),
}


def desired(
    settings: Settings, name_prefix: str = "", config_dir: Path = CONFIG_DIR, kinds: Iterable[str] = tuple(SINKS)
) -> dict[str, dict[str, str]]:
    """{connector name: config} for the sinks of `kinds` (default all). name_prefix keeps a test's connectors
    apart from the demo's."""
    connectors = {}
    for sink in (SINKS[kind] for kind in kinds):
        name, config = load(config_dir / sink.file)
        config["topics"] = getattr(settings, sink.topic_field)
        config["dynamodb.table"] = getattr(settings, sink.table_field)
        config["errors.deadletterqueue.topic.name"] = settings.topic_connect_dead_letters
        if config.get("dynamodb.ttl.attribute"):
            config["dynamodb.ttl.seconds"] = str(round(settings.readings_ttl_days * 86_400))
        connectors[f"{name_prefix}{name}"] = config
    return connectors
