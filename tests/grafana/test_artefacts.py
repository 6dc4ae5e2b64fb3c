"""The generated Grafana and Prometheus artefacts, checked without servers: fresh, well-formed in the
formats Grafana documents, linted like grafana/dashboard-linter would, parsed by promtool, and the
alert rules unit-tested by `promtool test rules` (fires after its `for`, resolves after recovery)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from grafana import alerts
from grafana import metrics as m
from grafana.provisioning import ROOT, render_all
from tests.grafana.queries import dashboard_queries, grafana_rule_queries, prometheus_rule_exprs, substitute

PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian package prometheus) missing")
needs_amtool = pytest.mark.skipif(AMTOOL is None, reason="amtool (Debian package prometheus-alertmanager) missing")


def _load(relative: str) -> dict:
    text = (ROOT / relative).read_text()
    return json.loads(text) if relative.endswith(".json") else yaml.safe_load(text)


def _dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted((ROOT / "dashboards").glob("*.json"))}


# --- stale -----------------------------------------------------------------------------------------------


def test_committed_artefacts_match_the_generator() -> None:
    rendered = render_all()
    stale = [name for name, text in rendered.items() if not (ROOT / name).exists() or (ROOT / name).read_text() != text]
    assert not stale, f"regenerate with `fleetpulse grafana generate`: {stale}"
    committed = {str(p.relative_to(ROOT)) for p in (ROOT / "dashboards").glob("*.json")}
    assert committed == {n for n in rendered if n.startswith("dashboards/")}, "a dashboard file nobody generates"


# --- dashboard linter ------------------------------------------------------------------------------------


def test_dashboards_have_unique_fixed_uids_and_no_export_placeholders() -> None:
    boards = _dashboards()
    uids = [board["uid"] for board in boards.values()]
    assert len(set(uids)) == len(uids) == 3
    for name, board in boards.items():
        text = json.dumps(board)
        assert board["id"] is None, name
        assert "__inputs" not in board and "${DS_" not in text, f"{name}: export-for-sharing placeholders"
        assert board["schemaVersion"] == 41, f"{name}: built for Grafana 11.6"
        assert board["title"] and board["description"], name
    assert alerts.DEVICE_DASHBOARD_UID in uids, "alert drilldown links point at the device dashboard"


def test_every_panel_and_query_uses_the_pinned_datasource() -> None:
    pinned = {"type": "prometheus", "uid": alerts.DATASOURCE_UID}
    for name, board in _dashboards().items():
        for panel in board["panels"]:
            assert panel["datasource"] == pinned, f"{name}: {panel['title']}"
            assert panel["targets"], f"{name}: {panel['title']} has no query"
            for target in panel["targets"]:
                assert target["datasource"] == pinned, f"{name}: {panel['title']}"
        for item in board.get("annotations", {}).get("list", []) + board.get("templating", {}).get("list", []):
            assert item["datasource"] == pinned, f"{name}: {item['name']}"
    datasources = _load("provisioning/datasources/fleetpulse.yaml")["datasources"]
    assert [d["uid"] for d in datasources] == [alerts.DATASOURCE_UID]


def test_every_panel_has_a_unit_a_title_and_a_unique_id() -> None:
    for name, board in _dashboards().items():
        ids = [panel["id"] for panel in board["panels"]]
        assert len(set(ids)) == len(ids), name
        for panel in board["panels"]:
            assert panel["title"], name
            assert panel["fieldConfig"]["defaults"].get("unit"), f"{name}: {panel['title']} has no unit"


def test_counters_are_always_rated_over_the_rate_interval() -> None:
    for where, expr in dashboard_queries():
        for counter in re.findall(r"\b(\w+_total)\b", expr):
            assert re.search(rf"(rate|increase|changes)\(\s*{counter}\b[^\]]*\[", expr), f"{where}: raw counter"
        for window in re.findall(r"(?:rate|increase)\([^)]*\[([^\]]+)\]", expr):
            assert window == "$__rate_interval", f"{where}: rate window {window} (use $__rate_interval)"


def test_dashboards_only_use_metrics_from_the_contract() -> None:
    known = {value for name, value in vars(m).items() if name.isupper() and isinstance(value, str)}
    promql_words = {"by", "on", "or", "and", "unless", "le", "sum", "max", "min", "topk", "rate", "increase"}
    for where, expr in dashboard_queries() + grafana_rule_queries():
        for name in re.findall(r"\b((?:fleetpulse|kafka_connect)_\w+)", expr):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            assert name in known or base in known or name in promql_words, f"{where}: {name} not in grafana/metrics.py"


@needs_promtool
def test_every_query_parses(tmp_path: Path) -> None:
    """promtool parses each expression (as a recording rule) after Grafana-variable substitution."""
    queries = dashboard_queries() + grafana_rule_queries() + prometheus_rule_exprs()
    for index, (where, expr) in enumerate(queries):
        rules = {"groups": [{"name": "lint", "rules": [{"record": f"lint:q{index}", "expr": substitute(expr, "d")}]}]}
        path = tmp_path / f"q{index}.yml"
        path.write_text(yaml.safe_dump(rules))
        result = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{where}: {expr}\n{result.stdout}{result.stderr}"
    assert len(queries) > 40


# --- provisioning formats (Grafana docs: Provision Grafana; File provisioning for alerting) --------------


def _require(item: dict, keys: set[str], where: str) -> None:
    missing = keys - set(item)
    assert not missing, f"{where}: missing {sorted(missing)}"


def test_datasource_and_dashboard_provider_files() -> None:
    ds = _load("provisioning/datasources/fleetpulse.yaml")
    assert ds["apiVersion"] == 1
    for item in ds["datasources"]:
        _require(item, {"name", "type", "access", "uid", "url", "orgId"}, "datasource")
        assert item["access"] in {"proxy", "direct"} and item["type"] == "prometheus"
    providers = _load("provisioning/dashboards/fleetpulse.yaml")
    assert providers["apiVersion"] == 1
    for item in providers["providers"]:
        _require(item, {"name", "type", "options", "orgId"}, "dashboard provider")
        assert item["type"] == "file" and item["options"]["path"]


def test_alert_rule_file() -> None:
    rules = _load("provisioning/alerting/rules.yaml")
    assert rules["apiVersion"] == 1
    datasource_uids = {d["uid"] for d in _load("provisioning/datasources/fleetpulse.yaml")["datasources"]}
    titles = set()
    for group in rules["groups"]:
        _require(group, {"orgId", "name", "folder", "interval", "rules"}, "rule group")
        for rule in group["rules"]:
            where = f"rule {rule.get('title')}"
            _require(rule, {"uid", "title", "condition", "data", "for", "noDataState", "execErrState"}, where)
            assert rule["noDataState"] in {"NoData", "Alerting", "OK", "KeepLast"}, where
            assert rule["execErrState"] in {"Error", "Alerting", "OK", "KeepLast"}, where
            assert len(rule["uid"]) <= 40 and re.fullmatch(r"[A-Za-z0-9_-]+", rule["uid"]), where
            ref_ids = {node["refId"] for node in rule["data"]}
            assert rule["condition"] in ref_ids, where
            for node in rule["data"]:
                assert node["datasourceUid"] in datasource_uids | {"__expr__"}, where
                assert node["model"]["refId"] == node["refId"], where
                if node["datasourceUid"] == "__expr__":
                    assert node["model"]["expression"] in ref_ids, where
            titles.add(rule["title"])
    assert titles == {alert.name for alert in alerts.catalogue()}


def _grafana_expand(value: str, env: dict[str, str]) -> str:
    """Grafana's provisioning interpolation: `$$` is a literal `$`, ${VAR}/$VAR expand, unset → ""."""
    var = re.compile(r"\$(\{(\w+)\}|(\w+))")
    return "$".join(var.sub(lambda mt: env.get(mt.group(2) or mt.group(3), ""), part) for part in value.split("$$"))


def test_contact_points_policies_and_templates() -> None:
    points = _load("provisioning/alerting/contact-points.yaml")
    assert points["apiVersion"] == 1
    receivers = {}
    for point in points["contactPoints"]:
        _require(point, {"orgId", "name", "receivers"}, "contact point")
        for receiver in point["receivers"]:
            _require(receiver, {"uid", "type", "settings"}, f"receiver of {point['name']}")
            receivers[receiver["type"]] = receiver["settings"]
    telegram, email = receivers["telegram"], receivers["email"]
    assert telegram["bottoken"] == "${FLEETPULSE_ALERT_TELEGRAM_BOT_TOKEN}", "the token comes from the env"
    assert telegram["chatid"] == "${FLEETPULSE_ALERT_TELEGRAM_CHAT_ID}"
    assert telegram["parse_mode"] in {"HTML", "Markdown", "MarkdownV2", "None"}
    assert isinstance(email["addresses"], str) and email["addresses"], "one string, split on ; , or newline"
    env = {"FLEETPULSE_ALERT_TELEGRAM_BOT_TOKEN": "t", "FLEETPULSE_ALERT_TELEGRAM_CHAT_ID": "1"}
    for settings in (telegram, email):
        for key in ("message", "subject"):
            if key in settings:  # interpolated by Grafana: a `$` here would silently vanish
                assert _grafana_expand(settings[key], env) == settings[key], key

    policies = _load("provisioning/alerting/policies.yaml")
    assert policies["apiVersion"] == 1
    names = {point["name"] for point in points["contactPoints"]}
    for policy in policies["policies"]:
        _require(policy, {"orgId", "receiver"}, "policy")
        assert policy["receiver"] in names
        assert all(route["receiver"] in names for route in policy["routes"])
        device_routes = [r for r in policy["routes"] if r.get("group_by") == ["device_id"]]
        assert device_routes, "device alerts are grouped per device"
        assert int(policy["repeat_interval"].rstrip("s")) >= 3600, "no notification storm"

    templates = _load("provisioning/alerting/templates.yaml")
    assert templates["apiVersion"] == 1
    defined = set()
    for template in templates["templates"]:
        _require(template, {"orgId", "name", "template"}, "template")
        defined |= set(re.findall(r'define "([\w.]+)"', template["template"]))
    used = set(re.findall(r'template "([\w.]+)"', (ROOT / "provisioning/alerting/contact-points.yaml").read_text()))
    assert used and used <= defined, f"undefined templates {used - defined}"


# --- Prometheus rules and Alertmanager ---------------------------------------------------------------


@needs_promtool
def test_promtool_checks_the_prometheus_rules() -> None:
    result = subprocess.run([PROMTOOL, "check", "rules", str(ROOT / "prometheus/rules.yml")], capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts.catalogue())} rules found" in result.stdout.decode()


@needs_promtool
def test_promtool_unit_tests_the_alerts() -> None:
    tests = Path(__file__).with_name("rules_test.yml")
    result = subprocess.run([PROMTOOL, "test", "rules", str(tests)], capture_output=True, text=True, cwd=tests.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_amtool
def test_amtool_accepts_the_alertmanager_config(tmp_path: Path) -> None:
    config = _load("prometheus/alertmanager.yml")
    config["templates"] = [str(alerts.TEMPLATE_FILE)]
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run([AMTOOL, "check-config", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    route = config["route"]
    assert route["repeat_interval"] == "4h" and route["group_interval"] == "5m", "production: no storm"
    assert route["routes"][0]["group_by"] == ["device_id"]


@needs_amtool
def test_the_notification_template_renders(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            AMTOOL,
            "template",
            "render",
            f"--template.glob={alerts.TEMPLATE_FILE}",
            '--template.text={{ template "fleetpulse.text" . }}',
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FleetPulse" in result.stdout


def test_a_demo_compresses_only_the_device_alerts_holds() -> None:
    """The demo runs event time at 60x: a device alert's hold shrinks with it, while the pipeline's alerts are
    about wall time and keep theirs (a worker not yet up when the demo starts it is not down)."""
    compressed = {a.name: a for a in alerts.catalogue(alerts.Timing(for_override=10, override_devices_only=True))}
    own = {a.name: a for a in alerts.catalogue(alerts.PRODUCTION)}
    assert compressed["DeviceFailureScoreHigh"].for_seconds == 10 and compressed["DeviceSilent"].for_seconds == 10
    assert compressed["WorkerDown"].for_seconds == own["WorkerDown"].for_seconds == 60
    assert all(c.for_seconds == own[n].for_seconds for n, c in compressed.items() if not c.per_device)
    everything = alerts.catalogue(alerts.Timing(for_override=10))  # the tests' timing: every hold
    assert max(a.for_seconds for a in everything) == 10
