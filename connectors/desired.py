"""The connector configs we want running: the JSON files in connectors/, with the names that depend on
settings (topics, tables, the dead-letter topic, TTLs, tasks per partition) filled in from the settings, so
one set of files serves the demo, the tests (isolated names) and production.

The storage policy picks the sinks and their topics: under `aggregated` the score and status sinks read
the store-bound scores topic (what the worker's policy selected) and the readings sink runs only while raw
readings are kept; under `everything` they read the full scores topic and every reading is stored."""

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
    store_topic_field: str = ""  # the topic it reads instead under the aggregated policy
    ttl_days_field: str = ""


SINKS = {
    "readings": Sink("readings-dynamodb.json", "topic_readings", "table_readings", ttl_days_field="readings_ttl_days"),
    "scores": Sink("scores-dynamodb.json", "topic_scores", "table_scores", "topic_scores_store"),
    "events": Sink("events-dynamodb.json", "topic_events", "table_events"),
    "device-status": Sink("device-status-dynamodb.json", "topic_scores", "table_device_status", "topic_scores_store"),
    "windows": Sink("windows-dynamodb.json", "topic_windows_store", "table_windows", ttl_days_field="windows_ttl_days"),
}


def stored_kinds(settings: Settings) -> tuple[str, ...]:
    """The sinks the storage policy runs."""
    return tuple(kind for kind in SINKS if kind != "readings" or settings.stores_raw_readings())


def desired(
    settings: Settings,
    name_prefix: str = "",
    config_dir: Path = CONFIG_DIR,
    kinds: Iterable[str] | None = None,
) -> dict[str, dict[str, str]]:
    """{connector name: config} for the sinks of `kinds` (default: those the storage policy runs).
    name_prefix keeps a test's connectors apart from the demo's."""
    connectors = {}
    for sink in (SINKS[kind] for kind in (stored_kinds(settings) if kinds is None else kinds)):
        name, config = load(config_dir / sink.file)
        aggregated = settings.storage_policy == "aggregated" and sink.store_topic_field
        config["topics"] = getattr(settings, sink.store_topic_field if aggregated else sink.topic_field)
        config["dynamodb.table"] = getattr(settings, sink.table_field)
        config["errors.deadletterqueue.topic.name"] = settings.topic_connect_dead_letters
        config["tasks.max"] = str(settings.topic_partitions)  # one task per partition: none waits in line
        if config.get("dynamodb.event.time.field"):  # the worker's admission bounds, so both refuse the same
            config["dynamodb.event.time.max.ahead.ms"] = str(round(settings.event_time_max_ahead_seconds * 1000))
            config["dynamodb.event.time.max.age.ms"] = str(round(settings.event_time_max_age_seconds * 1000))
        if sink.ttl_days_field:
            config["dynamodb.ttl.seconds"] = str(round(getattr(settings, sink.ttl_days_field) * 86_400))
        connectors[f"{name_prefix}{name}"] = config
    return connectors
