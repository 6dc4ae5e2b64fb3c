"""Unit tests (no servers): desired configs follow the settings; diff masks secrets."""

from __future__ import annotations

from connectors import rest
from connectors.desired import desired
from core.settings import Settings


def test_desired_configs_take_names_and_ttl_from_settings() -> None:
    settings = Settings(topic_readings="r.v1", table_readings="tr", readings_ttl_days=1.5,
                        topic_connect_dead_letters="dlq")  # fmt: skip
    configs = desired(settings, "p-")
    assert set(configs) == {f"p-fleetpulse-{k}-dynamodb" for k in ("readings", "scores", "events", "device-status")}
    readings = configs["p-fleetpulse-readings-dynamodb"]
    assert (readings["topics"], readings["dynamodb.table"]) == ("r.v1", "tr")
    assert readings["dynamodb.ttl.seconds"] == "129600"
    assert all(c["errors.deadletterqueue.topic.name"] == "dlq" for c in configs.values())
    assert all(c["aws.secret.access.key"].startswith("${env:") for c in configs.values())  # never the secret itself
    status = configs["p-fleetpulse-device-status-dynamodb"]
    assert status["dynamodb.sort.key"] == "" and status["topics"] == settings.topic_scores


def test_diff_masks_secrets_but_shows_provider_references() -> None:
    want = {"tasks.max": "2", "aws.secret.access.key": "${env:S}", "new.key": "x"}
    have = {"name": "c", "tasks.max": "1", "aws.secret.access.key": "plain-secret", "old.key": "y"}
    lines = rest.diff(want, have)
    assert "~ tasks.max: 1 -> 2" in lines and "+ new.key=x" in lines and "- old.key=y" in lines
    assert "~ aws.secret.access.key: ****** -> ${env:S}" in lines
    assert not any("plain-secret" in line for line in lines)
    assert rest.diff({"a": "1"}, {"name": "c", "a": "1"}) == []
    assert rest.diff({"sasl.password": "a"}, {"sasl.password": "b"}) == ["~ a secret value differs (masked)"]
    assert rest.diff({"a": "1"}, None) == ["(connector does not exist; apply creates it)"]
