"""What the local stack's Prometheus and Alertmanager need from grafana/: the rule file and the
Alertmanager config, rendered from the alert catalogue and the settings."""

from __future__ import annotations

from pathlib import Path

import yaml

from core.settings import Settings
from grafana import alerts


def write_prometheus_rules(directory: Path, settings: Settings, timing: alerts.Timing) -> Path:
    path = directory / "fleetpulse-rules.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(alerts.prometheus_rules(timing, settings.grafana_url), sort_keys=False))
    return path


def alertmanager_config(settings: Settings, timing: alerts.Timing = alerts.PRODUCTION) -> dict:
    """Channels with missing settings are left out, so a fresh checkout starts a valid Alertmanager."""
    token = settings.telegram_bot_token.get_secret_value()
    telegram = None
    if token and settings.alert_telegram_chat_id:
        telegram = alerts.Telegram(settings.telegram_api_url, token, settings.alert_telegram_chat_id)
    email = None
    if settings.alert_email_to:
        email = alerts.Email(settings.alert_email_to, settings.alert_smtp_smarthost, settings.alert_smtp_from)
    return alerts.alertmanager_config(
        template_path=str(alerts.TEMPLATE_FILE), telegram=telegram, email=email, timing=timing
    )


def write_alertmanager_config(directory: Path, settings: Settings, timing: alerts.Timing) -> Path:
    path = directory / "alertmanager.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(alertmanager_config(settings, timing), sort_keys=False))
    path.chmod(0o600)  # it holds the bot token
    return path
