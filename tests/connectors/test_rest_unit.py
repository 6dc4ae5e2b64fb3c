"""Unit tests (no servers): desired configs follow the settings; diff masks secrets."""

from __future__ import annotations

from connectors import rest
from connectors.desired import desired
from core.settings import Settings


def test_desired_configs_take_names_and_ttl_from_settings() -> None:
    settings = Settings(topic_readings="r.v1", table_readings="tr", readings_ttl_days=1.5,
                        topic_connect_dead_letters="dlq")  # fmt: skip
    configs = desired(settings, "p-")
    kinds = ("readings", "scores", "events", "device-status", "windows")
    assert set(configs) == {f"p-fleetpulse-{k}-dynamodb" for k in kinds}
    assert all(c["tasks.max"] == str(settings.topic_partitions) for c in configs.values())
    readings = configs["p-fleetpulse-readings-dynamodb"]
    assert (readings["topics"], readings["dynamodb.table"]) == ("r.v1", "tr")
    assert readings["dynamodb.ttl.seconds"] == "129600"
    assert all(c["errors.deadletterqueue.topic.name"] == "dlq" for c in configs.values())
    assert all(c["aws.secret.access.key"].startswith("${env:") for c in configs.values())  # never the secret itself
    status = configs["p-fleetpulse-device-status-dynamodb"]
    assert status["dynamodb.sort.key"] == "" and status["topics"] == settings.topic_scores_store
    assert configs["p-fleetpulse-scores-dynamodb"]["topics"] == settings.topic_scores_store
    assert configs["p-fleetpulse-windows-dynamodb"]["dynamodb.ttl.seconds"] == str(30 * 86_400)


def test_the_storage_policy_picks_the_sinks_and_their_topics() -> None:
    big = desired(Settings(storage_fleet_devices=100_000))
    assert "fleetpulse-readings-dynamodb" not in big, "raw readings are off above storage_raw_max_devices"
    assert "fleetpulse-readings-dynamodb" in desired(Settings(storage_fleet_devices=100_000, storage_raw_readings="on"))
    everything = desired(Settings(storage_policy="everything", storage_fleet_devices=100_000))
    assert {c["topics"] for n, c in everything.items() if "scores" in n or "status" in n} == {Settings().topic_scores}
    assert "fleetpulse-readings-dynamodb" in everything


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
