"""Settings: env vars, the README table, and the managed-cluster security block."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.kafka.config import confluent_config
from core.settings import Settings
from fleetpulse.settings_doc import markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_documents_every_setting() -> None:
    assert markdown_table() in README.read_text(), "README's settings table is stale: `fleetpulse settings --markdown`"


def test_env_vars_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETPULSE_SIMULATOR_DEVICES", "500")
    assert Settings().simulator_devices == 500


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETPULSE_KAFKA_SECURITY_PROTOCOL", "SASL_SSH")
    with pytest.raises(ValueError, match="kafka_security_protocol"):
        Settings()


def test_sasl_ssl_for_a_managed_cluster() -> None:
    settings = Settings(
        kafka_bootstrap_servers="pkc-123.europe-west1.gcp.confluent.cloud:9092",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="KEY",
        kafka_sasl_password="SECRET",
    )
    config = confluent_config(settings)
    assert config["security.protocol"] == "SASL_SSL" and config["sasl.mechanisms"] == "PLAIN"
    assert (config["sasl.username"], config["sasl.password"]) == ("KEY", "SECRET")
    assert "SECRET" not in repr(settings)


def test_plaintext_has_no_sasl_block() -> None:
    assert "sasl.username" not in confluent_config(Settings())
