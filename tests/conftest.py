"""Shared fixtures. Integration tests run against the real local stack that `make test` starts; each
test gets its own topics, tables, consumer groups and ports, so tests never see each other's data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from core.settings import Settings
from fleetpulse.stack.components import all_components
from tests.harness import free_port


def pytest_report_header() -> str:
    import streams
    import streams.model

    return (
        f"failure model: {streams.model.IMPLEMENTATION} (streams/model/native.py); "
        f"stream processor: {streams.IMPLEMENTATION} (streams/native.py)"
    )


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    # The suite's fixtures and simulations are dated 2026-11 (fixed, so runs are reproducible), so the
    # event-time age bound would refuse them as the calendar moves on; its own tests set it explicitly.
    return Settings(event_time_max_age_seconds=0)


@pytest.fixture(scope="session")
def stack(base_settings: Settings) -> Settings:
    """The running local stack; fails with a clear message rather than hanging when it is down."""
    down = [c.name for c in all_components(base_settings) if not c.healthy()]
    if down:
        pytest.fail(f"local stack not healthy ({', '.join(down)}): run `make test`, or `fleetpulse stack up` first")
    return base_settings


def isolated_settings(base: Settings, **overrides: object) -> Settings:
    """Settings with unique topic, table, app and port names for one test."""
    tag = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "topic_readings": f"test-{tag}.readings",
        "topic_scores": f"test-{tag}.scores",
        "topic_dead_letters": f"test-{tag}.dead-letters",
        "topic_events": f"test-{tag}.device-events",
        "topic_stats": f"test-{tag}.window-stats",
        "topic_scores_store": f"test-{tag}.scores-store",
        "topic_windows_store": f"test-{tag}.windows-store",
        "table_windows": f"test_{tag}_windows",
        "table_readings": f"test_{tag}_readings",
        "table_scores": f"test_{tag}_scores",
        "table_events": f"test_{tag}_device_events",
        "table_device_status": f"test_{tag}_device_status",
        "table_alert_acks": f"test_{tag}_alert_acks",
        "topic_connect_dead_letters": f"test-{tag}.connect-dead-letters",
        "worker_app_id": f"test-{tag}-worker",
        "worker_web_port": free_port(),
        "worker_metrics_port": free_port(),
        "simulator_metrics_port": free_port(),
        "topic_partitions": 3,
    }
    return base.model_copy(update=values | overrides)


@pytest.fixture()
def isolated(stack: Settings) -> Iterator[Settings]:
    yield isolated_settings(stack)
