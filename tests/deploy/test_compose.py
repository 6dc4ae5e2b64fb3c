"""docker-compose.yml: valid for `docker compose config`, and every service runs a real `fleetpulse`
command with real settings. Truth comes from the code (the click group, the Settings class)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import ROOT, SETTING_NAMES, command_exists, run, tool

COMPOSE_FILE = ROOT / "docker-compose.yml"
SASL_OVERRIDE = ROOT / "docker" / "compose.sasl-ssl.yml"
# Parsed without the compose binary, only to parametrize (PyYAML resolves the `<<` merges).
RAW = yaml.safe_load(COMPOSE_FILE.read_text())
APP_SERVICES = sorted(
    name for name, svc in RAW["services"].items() if svc.get("build", {}).get("dockerfile") == "Dockerfile"
)


def test_compose_config_is_valid() -> None:
    result = run([tool("docker-compose"), "--env-file", ".env.example", "--profile", "*", "config", "--quiet"])
    assert result.returncode == 0, result.stderr


def test_grafana_password_must_come_from_env() -> None:
    """No default admin password: without .env, compose refuses with a message that says what to do."""
    result = run(
        [tool("docker-compose"), "--env-file", "/dev/null", "config", "--quiet"], env={"PATH": "/usr/bin:/bin"}
    )
    assert result.returncode != 0
    assert "GRAFANA_ADMIN_PASSWORD" in result.stderr


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_service_command_is_a_real_subcommand(compose_config: dict[str, Any], service: str) -> None:
    svc = compose_config["services"][service]
    command = svc["command"]
    assert command_exists(command), f"{service}: `fleetpulse {' '.join(command)}` is not a fleetpulse command"


@pytest.mark.parametrize("service", [*APP_SERVICES, "connect"])
def test_every_fleetpulse_variable_is_a_setting(compose_config: dict[str, Any], service: str) -> None:
    env = compose_config["services"][service].get("environment", {})
    unknown = sorted(name for name in env if name.startswith("FLEETPULSE_") and name not in SETTING_NAMES)
    assert not unknown, f"{service} sets variables that are not in core/settings.py: {unknown}"


def test_app_containers_listen_on_all_interfaces(compose_config: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        env = compose_config["services"][name]["environment"]
        assert env["FLEETPULSE_BIND_HOST"] == "0.0.0.0", name
        assert env["FLEETPULSE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:29092", name


def test_app_containers_are_hardened(compose_config: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        svc = compose_config["services"][name]
        assert svc["read_only"] is True, name
        assert svc["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in svc["security_opt"], name


def test_setup_jobs_gate_the_pipeline(compose_config: dict[str, Any]) -> None:
    """One-shot jobs run once; what needs them waits for their success; servers wait for health."""
    services = compose_config["services"]
    jobs = {name for name, svc in services.items() if svc.get("restart") == "no"}
    assert jobs == {"topics", "tables", "connectors"}
    for name, svc in services.items():
        for dependency, condition in svc.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            expected = "service_completed_successfully" if dependency in jobs else "service_healthy"
            assert condition["condition"] == expected, f"{name} -> {dependency}"
            assert dependency in jobs or "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
    assert set(services["connectors"]["depends_on"]) == {"connect", "topics", "tables"}
    for name in ("worker", "simulator"):
        assert "topics" in services[name]["depends_on"], name
        assert "healthcheck" in services[name], name


def test_default_services_and_profiles(compose_config: dict[str, Any]) -> None:
    result = run([tool("docker-compose"), "--env-file", ".env.example", "config", "--services"])
    default = set(result.stdout.split())
    expected = {"kafka", "connect", "dynamodb", "prometheus", "alertmanager", "grafana"}
    expected |= {"topics", "tables", "connectors", "worker", "simulator"}
    assert expected <= default
    assert {"agent", "bot"}.isdisjoint(default), "the host agent and the bot are opt-in profiles"


def test_mounted_files_exist(compose_config: dict[str, Any]) -> None:
    for name, svc in compose_config["services"].items():
        for volume in svc.get("volumes", []):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), f"{name} mounts missing {volume['source']}"


def test_grafana_gets_every_variable_its_provisioning_uses(compose_config: dict[str, Any]) -> None:
    referenced: set[str] = set()
    for path in (ROOT / "grafana" / "provisioning").rglob("*.y*ml"):
        # Our provisioning uses ${VAR} (annotations hold $labels, which Grafana leaves alone); $$ is a literal $.
        referenced |= set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", path.read_text().replace("$$", "")))
    if not referenced:
        pytest.skip("grafana/provisioning references no environment variables (or is not there yet)")
    env = compose_config["services"]["grafana"]["environment"]
    assert referenced <= set(env), f"grafana service lacks {sorted(referenced - set(env))}"


def test_prometheus_scrapes_the_jobs_the_alerts_use() -> None:
    config = yaml.safe_load((ROOT / "docker" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    rules = (ROOT / "grafana" / "prometheus" / "rules.yml").read_text()
    used = set(re.findall(r'job="([^"]+)"', rules))
    assert used <= jobs, f"rules use jobs that compose's Prometheus does not scrape: {used - jobs}"


def test_sasl_ssl_override(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "GRAFANA_ADMIN_PASSWORD=x\nFLEETPULSE_KAFKA_BOOTSTRAP_SERVERS=pkc-1.example:9092\n"
        "FLEETPULSE_KAFKA_SASL_USERNAME=key\nFLEETPULSE_KAFKA_SASL_PASSWORD=se=cret\n"
    )
    base = [tool("docker-compose"), "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "-f", str(SASL_OVERRIDE)]
    result = run([*base, "--profile", "*", "config", "--format", "json"])
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["FLEETPULSE_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", name
        assert env["FLEETPULSE_KAFKA_BOOTSTRAP_SERVERS"] == "pkc-1.example:9092", name
        assert env["FLEETPULSE_DYNAMODB_ENDPOINT"] == "http://dynamodb:8000", f"{name}: base env must survive"
        assert "kafka" not in services[name].get("depends_on", {}), name
    connect = services["connect"]["environment"]
    for prefix in ("", "CONSUMER_", "PRODUCER_", "ADMIN_"):
        assert connect[f"CONNECT_{prefix}SECURITY_PROTOCOL"] == "SASL_SSL"
        assert 'password="se=cret";' in connect[f"CONNECT_{prefix}SASL_JAAS_CONFIG"]
    # The local broker no longer starts, and nothing waits for it.
    default = run([*base, "config", "--services"]).stdout.split()
    assert "kafka" not in default and "worker" in default
    # Without the credentials, compose refuses rather than starting half-configured.
    env_file.write_text("GRAFANA_ADMIN_PASSWORD=x\n")
    refused = run([*base, "config", "--quiet"], env={"PATH": "/usr/bin:/bin"})
    assert refused.returncode != 0 and "FLEETPULSE_KAFKA_" in refused.stderr


def test_env_example_lists_only_variables_compose_reads() -> None:
    """.env.example is the user's checklist: every entry must be read by a compose file, and every
    ${VAR:?…} (required) variable of the base file must be in it."""
    names = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    compose_text = COMPOSE_FILE.read_text() + SASL_OVERRIDE.read_text()
    referenced = set(re.findall(r"\$\{(\w+)", compose_text))
    assert names <= referenced, f".env.example has variables no compose file reads: {names - referenced}"
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE_FILE.read_text()))
    assert required <= names
    assert not (ROOT / ".env").exists() or ".env" in (ROOT / ".gitignore").read_text().split()
