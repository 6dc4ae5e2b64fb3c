"""`fleetpulse connectors apply|diff|status|pause|resume|restart` as real processes against the dev Connect."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from connectors import rest
from connectors.desired import desired
from connectors.tables import dynamodb_client, ensure_tables, table_specs
from core.settings import Settings
from core.topics import create_topics
from tests.conftest import isolated_settings
from tests.harness import ROOT, settings_env

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env(stack: Settings) -> Iterator[tuple[Settings, str]]:
    settings = isolated_settings(stack)
    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    create_topics(settings)
    ensure_tables(settings)
    yield settings, prefix
    for name in desired(settings, prefix):
        rest.delete(settings.connect_url, name)
    for spec in table_specs(settings):
        dynamodb_client(settings).delete_table(TableName=spec.name)


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fleetpulse", *args], capture_output=True, text=True, timeout=180,
                          cwd=ROOT, env={**os.environ, **settings_env(settings)})  # fmt: skip


def test_apply_diff_pause_resume_restart_status(env: tuple[Settings, str]) -> None:
    settings, prefix = env
    readings = f"{prefix}fleetpulse-readings-dynamodb"
    applied = _cli(settings, "connectors", "apply", "--prefix", prefix)
    assert applied.returncode == 0, applied.stderr
    assert f"{readings}: RUNNING" in applied.stdout
    assert _cli(settings, "connectors", "apply", "--prefix", prefix).returncode == 0  # idempotent

    in_sync = _cli(settings, "connectors", "diff", "--prefix", prefix)
    assert in_sync.returncode == 0 and in_sync.stdout.count("in sync") == 5, in_sync.stdout
    drifted = {**rest.get_config(settings.connect_url, readings), "tasks.max": "1"}  # type: ignore[dict-item]
    rest.put_config(settings.connect_url, readings, drifted)
    diff = _cli(settings, "connectors", "diff", "--prefix", prefix, readings)
    assert diff.returncode == 1 and f"~ tasks.max: 1 -> {settings.topic_partitions}" in diff.stdout

    for command, state in (("pause", "PAUSED"), ("resume", "RUNNING"), ("restart", "RUNNING")):
        result = _cli(settings, "connectors", command, "--prefix", prefix, readings)
        assert result.returncode == 0 and f"{readings}: {state}" in result.stdout, result.stderr
    status = _cli(settings, "connectors", "status", "--prefix", prefix)
    assert status.returncode == 0 and status.stdout.count("RUNNING [0:RUNNING") == 5, status.stdout
    unknown = _cli(settings, "connectors", "pause", "--prefix", prefix, "nope")
    assert unknown.returncode != 0 and "unknown connector" in unknown.stderr
