"""Grafana provisioning files (the formats of Grafana's docs, "Provision Grafana" and "File provisioning
for alerting"), and every other generated artefact: dashboards JSON, Prometheus rules, the Alertmanager
config. `fleetpulse grafana generate` writes them all; `render_all()` is what the stale-file test compares.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from grafana import alerts
from grafana.alerts import DATASOURCE_UID, TEMPLATE_FILE, TEMPLATE_NAME, Timing
from grafana.dashboards_src import DASHBOARDS

ROOT = Path(__file__).parent
# Grafana expands $VAR / ${VAR} in these provisioning values at load time (an unset one becomes "").
TELEGRAM_TOKEN_ENV = "FLEETPULSE_ALERT_TELEGRAM_BOT_TOKEN"
TELEGRAM_CHAT_ENV = "FLEETPULSE_ALERT_TELEGRAM_CHAT_ID"
EMAIL_TO_ENV = "FLEETPULSE_ALERT_EMAIL_TO"
PROMETHEUS_URL_ENV = "FLEETPULSE_PROMETHEUS_URL"


def dashboard_json(name: str) -> dict:
    board = json.loads(json.dumps(DASHBOARDS[name]().build(), cls=JSONEncoder))
    board["id"] = None  # Grafana upserts provisioned dashboards by uid
    for number, panel in enumerate(board["panels"], start=1):
        panel["id"] = number
    return board


def datasources() -> dict:
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "type": "prometheus",
                "uid": DATASOURCE_UID,
                "access": "proxy",
                "orgId": 1,
                "url": f"${{{PROMETHEUS_URL_ENV}}}",
                "isDefault": True,
                "editable": False,
                "jsonData": {"httpMethod": "POST", "timeInterval": "15s"},
            }
        ],
    }


def dashboard_providers() -> dict:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "fleetpulse",
                "orgId": 1,
                "folder": "FleetPulse",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": "/var/lib/grafana/dashboards/fleetpulse"},
            }
        ],
    }


def contact_points() -> dict:
    message = '{{ template "fleetpulse.text" . }}'
    return {
        "apiVersion": 1,
        "contactPoints": [
            {
                "orgId": 1,
                "name": "fleetpulse-ops",
                "receivers": [
                    {
                        "uid": "fleetpulse-telegram",
                        "type": "telegram",
                        "settings": {
                            "bottoken": f"${{{TELEGRAM_TOKEN_ENV}}}",
                            "chatid": f"${{{TELEGRAM_CHAT_ENV}}}",
                            "parse_mode": "HTML",
                            "disable_web_page_preview": True,
                            "message": message,
                        },
                        "disableResolveMessage": False,
                    },
                    {
                        "uid": "fleetpulse-email",
                        "type": "email",
                        "settings": {
                            "addresses": f"${{{EMAIL_TO_ENV}}}",
                            "singleEmail": True,
                            "subject": '{{ template "fleetpulse.title" . }}',
                            "message": message,
                        },
                        "disableResolveMessage": False,
                    },
                ],
            }
        ],
    }


def policies(timing: Timing = alerts.PRODUCTION) -> dict:
    durations = {
        "group_wait": f"{timing.group_wait}s",
        "group_interval": f"{timing.group_interval}s",
        "repeat_interval": f"{timing.repeat_interval}s",
    }
    return {
        "apiVersion": 1,
        "policies": [
            {
                "orgId": 1,
                "receiver": "fleetpulse-ops",
                "group_by": ["grafana_folder", "alertname"],
                **durations,
                # One notification per device, listing all of its alerts.
                "routes": [
                    {
                        "receiver": "fleetpulse-ops",
                        "object_matchers": [["device_id", "=~", ".+"]],
                        "group_by": ["device_id"],
                    }
                ],
            }
        ],
    }


def templates() -> dict:
    return {
        "apiVersion": 1,
        "templates": [{"orgId": 1, "name": TEMPLATE_NAME, "template": TEMPLATE_FILE.read_text()}],
    }


def alertmanager_example() -> dict:
    """For kube-prometheus-stack users: secrets are placeholders to fill from a Secret."""
    return alerts.alertmanager_config(
        template_path="/etc/alertmanager/config/fleetpulse.tmpl",
        telegram=alerts.Telegram("https://api.telegram.org", "<telegram bot token>", -1000000000000),
        email=alerts.Email("oncall@example.org", "smtp.example.org:587", "fleetpulse@example.org"),
    )


def _yaml(data: dict) -> str:
    header = "# Generated by `fleetpulse grafana generate` from grafana/*.py: do not edit by hand.\n"
    return header + yaml.safe_dump(data, sort_keys=False, width=120, allow_unicode=True)


def render_all() -> dict[str, str]:
    """Every generated file, relative to grafana/, with its exact text."""
    files = {
        f"dashboards/{name}.json": json.dumps(dashboard_json(name), indent=2, sort_keys=True) + "\n"
        for name in DASHBOARDS
    }
    files |= {
        "provisioning/datasources/fleetpulse.yaml": _yaml(datasources()),
        "provisioning/dashboards/fleetpulse.yaml": _yaml(dashboard_providers()),
        "provisioning/alerting/rules.yaml": _yaml(alerts.grafana_rules()),
        "provisioning/alerting/contact-points.yaml": _yaml(contact_points()),
        "provisioning/alerting/policies.yaml": _yaml(policies()),
        "provisioning/alerting/templates.yaml": _yaml(templates()),
        "prometheus/rules.yml": _yaml(alerts.prometheus_rules()),
        "prometheus/alertmanager.yml": _yaml(alertmanager_example()),
    }
    return files


def write_all(root: Path = ROOT) -> list[Path]:
    written = []
    for relative, text in render_all().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
