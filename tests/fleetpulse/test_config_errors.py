"""Every configuration mistake a user can make ends the command with one line naming the setting and what
is wrong, exit code 2, and no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import ConfigError
from producers.phone_ingest import load_tokens, token_covers
from tests.harness import ROOT, free_port


def _fleetpulse(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real entry point in a child process, so import-time settings errors are covered too."""
    return subprocess.run(
        [sys.executable, "-m", "fleetpulse", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), **env},
        timeout=60,
    )


def _one_clear_line(result: subprocess.CompletedProcess[str], setting: str, problem: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"configuration error: {setting}: ") and problem in lines[0], lines[0]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"phone-a": "short"}, "the token of 'phone-a' must be a string of at least 16 characters"),
        ({"phone-a": 12345678901234567890}, "must be a string"),
        (["phone-a", "0123456789abcdef"], "must be a JSON object"),
        ("{not json", "is not JSON"),
    ],
)
def test_a_bad_tokens_file_ends_ingest_with_one_line(tmp_path: Path, content: object, problem: str) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    result = _fleetpulse("ingest", FLEETPULSE_INGEST_TOKENS_FILE=str(path))
    _one_clear_line(result, "FLEETPULSE_INGEST_TOKENS_FILE", problem)


def test_a_missing_tokens_file_is_named(tmp_path: Path) -> None:
    result = _fleetpulse("ingest", FLEETPULSE_INGEST_TOKENS_FILE=str(tmp_path / "absent.json"))
    _one_clear_line(result, "FLEETPULSE_INGEST_TOKENS_FILE", "No such file or directory")


@pytest.mark.parametrize(
    ("command", "variable", "value", "problem"),
    [
        ("worker", "FLEETPULSE_WORKER_BATCH_SIZE", "lots", "valid integer"),  # read when streams.app is imported
        ("topics", "FLEETPULSE_TOPIC_PARTITIONS", "0", "greater than or equal to 1"),
        ("simulate", "FLEETPULSE_WORKER_SCORER", "magic", "'model' or 'baseline'"),
        ("ingest", "FLEETPULSE_EVENT_TIME_MAX_AHEAD_SECONDS", "-1", "greater than or equal to 0"),
    ],
)
def test_a_bad_settings_value_is_named_with_what_was_given(
    command: str, variable: str, value: str, problem: str
) -> None:
    result = _fleetpulse(command, **{variable: value})
    _one_clear_line(result, variable, problem)
    assert repr(value) in result.stderr


def test_a_bad_secret_is_named_without_its_value() -> None:
    result = _fleetpulse("topics", FLEETPULSE_TOPIC_PARTITIONS="x", FLEETPULSE_API_TOKEN="s3cret")
    assert "s3cret" not in result.stderr + result.stdout


@pytest.mark.parametrize("command", ["worker", "topics"])
def test_an_unreachable_broker_at_start_is_named(command: str) -> None:
    nobody = f"127.0.0.1:{free_port()}"
    result = _fleetpulse(command, FLEETPULSE_KAFKA_BOOTSTRAP_SERVERS=nobody)
    _one_clear_line(result, "FLEETPULSE_KAFKA_BOOTSTRAP_SERVERS", f"no Kafka broker answered at {nobody}")


def test_load_tokens_raises_config_errors_not_value_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"a": "x"}')
    with pytest.raises(ConfigError) as raised:
        load_tokens(str(path))
    assert raised.value.setting == "FLEETPULSE_INGEST_TOKENS_FILE"


def test_a_token_may_name_the_phone_by_either_id() -> None:
    assert token_covers("A1-B2", "A1-B2") and token_covers("phone-A1-B2", "A1-B2")
    assert token_covers("phone-A1-B2", "A1 B2"), "the shown id, with the app id's characters replaced"
    assert not token_covers("phone-other", "A1-B2") and not token_covers("A1", "A1-B2")
