"""Every PromQL expression Grafana or Prometheus would run, collected from the generated artefacts (not
from the generator), with Grafana's variables substituted the way Grafana would."""

from __future__ import annotations

import json
import re

import yaml

from grafana.provisioning import ROOT

GRAFANA_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(__\w+|[A-Za-z_]\w*))")


def substitute(expr: str, device_id: str, rate_interval: str = "1m") -> str:
    values = {"device_id": device_id, "__rate_interval": rate_interval, "__interval": "15s", "__range": "1h"}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))  # "$1" in label_replace is PromQL's, not Grafana's

    return GRAFANA_VARIABLE.sub(replace, expr)


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, expr) for every panel target, annotation and variable of the committed dashboards."""
    found = []
    for path in sorted((ROOT / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                found.append((f"{path.name}: {panel['title']} [{target['refId']}]", target["expr"]))
        for annotation in board.get("annotations", {}).get("list", []):
            if annotation.get("expr"):
                found.append((f"{path.name}: annotation {annotation['name']}", annotation["expr"]))
        for variable in board.get("templating", {}).get("list", []):
            query = variable.get("query")
            if isinstance(query, str) and query.startswith("label_values("):
                # label_values(expr, label) is Grafana's; the series query underneath is the expr.
                found.append((f"{path.name}: variable {variable['name']}", query[13:].rsplit(",", 1)[0]))
    return found


def grafana_rule_queries() -> list[tuple[str, str]]:
    rules = yaml.safe_load((ROOT / "provisioning/alerting/rules.yaml").read_text())
    return [
        (f"grafana rule {rule['title']}", node["model"]["expr"])
        for group in rules["groups"]
        for rule in group["rules"]
        for node in rule["data"]
        if "expr" in node["model"]
    ]


def prometheus_rule_exprs() -> list[tuple[str, str]]:
    rules = yaml.safe_load((ROOT / "prometheus/rules.yml").read_text())
    return [(f"prometheus rule {r['alert']}", r["expr"]) for g in rules["groups"] for r in g["rules"]]
