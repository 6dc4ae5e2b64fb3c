"""Every alert right both ways, in both renderings of the catalogue: `promtool test rules` over a seeded
healthy fleet with realistic noise (nothing fires for 40 minutes, at least twice every rule's `for`) and
one failure case per rule (exactly that alert fires, not before its `for`). See alert_cases.py."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from grafana import alerts
from grafana.provisioning import ROOT
from tests.grafana import alert_cases

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian package prometheus) missing")
_OPS = {"gt": ">", "lt": "<"}


def _seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smh])", duration))


def _prometheus_rendering() -> tuple[Path, dict[str, int], str]:
    path = ROOT / "prometheus" / "rules.yml"
    group = yaml.safe_load(path.read_text())["groups"][0]
    return path, {r["alert"]: _seconds(r["for"]) for r in group["rules"]}, group["interval"]


def _grafana_as_prometheus(tmp_path: Path) -> tuple[Path, dict[str, int], str]:
    """Grafana's rules (query node A, threshold node C over each of A's series) as the Prometheus rules
    they are equivalent to, so promtool can evaluate what Grafana would."""
    group = yaml.safe_load((ROOT / "provisioning" / "alerting" / "rules.yaml").read_text())["groups"][0]
    rules = []
    for rule in group["rules"]:
        nodes = {node["refId"]: node["model"] for node in rule["data"]}
        threshold = nodes[rule["condition"]]
        query = nodes[threshold["expression"]]["expr"]
        evaluator = threshold["conditions"][0]["evaluator"]
        expr = f"({query}) {_OPS[evaluator['type']]} {evaluator['params'][0]}"
        rules.append({"alert": rule["title"], "expr": expr, "for": rule["for"], "labels": rule["labels"]})
    path = tmp_path / "grafana-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "grafana", "interval": group["interval"], "rules": rules}]}))
    return path, {r["alert"]: _seconds(r["for"]) for r in rules}, group["interval"]


def test_every_alert_has_a_failure_case_and_the_healthy_window_covers_twice_its_for() -> None:
    catalogue = {alert.name: alert.for_seconds for alert in alerts.catalogue()}
    assert {f.alert for f in alert_cases.FAILURES} == set(catalogue), "add a failure case to alert_cases.py"
    longest = max(catalogue.values())
    assert 2 * longest <= alert_cases.MINUTES * 60, "the healthy fleet is watched for twice every `for`"
    assert longest <= alert_cases.ONSET_MIN * 60, "each failure starts after a healthy lead-in of a whole `for`"


def _promtool(tests: dict, tmp_path: Path, name: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"{name}_test.yml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False, width=1 << 20))
    return subprocess.run([PROMTOOL, "test", "rules", str(path)], capture_output=True, text=True, cwd=tmp_path)


@needs_promtool
@pytest.mark.parametrize("rendering", ["prometheus", "grafana"])
def test_promtool_every_alert_fires_on_its_failure_and_never_on_a_healthy_fleet(rendering: str, tmp_path: Path) -> None:
    if rendering == "prometheus":
        rule_file, for_seconds, interval = _prometheus_rendering()
    else:
        rule_file, for_seconds, interval = _grafana_as_prometheus(tmp_path)
    tests = alert_cases.promtool_tests(str(rule_file), for_seconds, interval)
    result = _promtool(tests, tmp_path, rendering)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "SUCCESS" in result.stdout
