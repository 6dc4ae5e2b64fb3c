"""`fleetpulse watch`: the devices at risk in a terminal, refreshed, for people without Grafana at hand.

It runs the same PromQL as the Fleet overview dashboard against Prometheus, so what it shows is what
Grafana would show. Plain text (no curses dependency): a screen clear between refreshes on a TTY.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import click
import requests

from grafana import metrics as m
from grafana.alerts import _score_with_top_reason


class PrometheusUnavailable(RuntimeError):
    pass


@dataclass
class Row:
    device_id: str
    score: float
    top_reason: str
    liveness: str


def _query(prometheus_url: str, expr: str) -> list[dict]:
    try:
        response = requests.get(f"{prometheus_url}/api/v1/query", params={"query": expr}, timeout=5)
        body = response.json()
    except (requests.RequestException, ValueError) as error:
        raise PrometheusUnavailable(f"cannot query {prometheus_url}: {error}") from error
    if body.get("status") != "success":
        raise PrometheusUnavailable(f"{prometheus_url} rejected {expr!r}: {body.get('error')}")
    return body["data"]["result"]


def at_risk(prometheus_url: str, top: int) -> list[Row]:
    scores = _query(prometheus_url, f"topk({top}, {_score_with_top_reason()})")
    liveness = {
        r["metric"].get("device_id", ""): int(float(r["value"][1]))
        for r in _query(prometheus_url, f"max by (device_id) ({m.DEVICE_LIVENESS})")
    }
    rows = []
    for result in scores:
        device_id = result["metric"].get("device_id", "?")
        state = liveness.get(device_id)
        rows.append(
            Row(
                device_id=device_id,
                score=float(result["value"][1]),
                top_reason=result["metric"].get("top_reason", "-"),
                liveness=m.LIVENESS_STATES[state] if state is not None and 0 <= state < 4 else "?",
            )
        )
    return sorted(rows, key=lambda row: row.score, reverse=True)


def silent_devices(prometheus_url: str) -> list[str]:
    expr = f"max by (device_id) ({m.DEVICE_LIVENESS}) >= {m.SILENT}"
    return sorted(r["metric"].get("device_id", "?") for r in _query(prometheus_url, expr))


def firing_alerts(prometheus_url: str) -> list[str]:
    expr = f'{m.ALERTS}{{alertstate="firing"}}'
    results = _query(prometheus_url, expr)
    names = {(r["metric"].get("alertname", "?"), r["metric"].get("device_id", "")) for r in results}
    return sorted(f"{name} {device}".strip() for name, device in names)


def render(prometheus_url: str, top: int, threshold: float) -> str:
    rows = [row for row in at_risk(prometheus_url, top) if row.score >= threshold]
    lines = [f"FleetPulse — devices at risk (score >= {threshold:g})   {time.strftime('%H:%M:%S')}", ""]
    lines.append(f"{'device':<24} {'score':>6}  {'top reason':<16} liveness")
    lines += [f"{r.device_id:<24} {r.score:>6.2f}  {r.top_reason:<16} {r.liveness}" for r in rows]
    if not rows:
        lines.append("(none)")
    silent = silent_devices(prometheus_url)
    lines += ["", f"silent or dead: {', '.join(silent) if silent else '(none)'}"]
    alerts = firing_alerts(prometheus_url)
    lines += [f"alerts firing: {', '.join(alerts) if alerts else '(none)'}"]
    return "\n".join(lines)


@click.command("watch")
@click.option("--prometheus-url", help="Prometheus to query [FLEETPULSE_PROMETHEUS_URL].")
@click.option("--top", default=15, show_default=True, help="Devices listed.")
@click.option("--threshold", default=0.5, show_default=True, help="Lowest failure score listed.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between refreshes.")
@click.option("--once", is_flag=True, help="Print one screen and exit (for scripts).")
def watch(prometheus_url: str | None, top: int, threshold: float, interval: float, once: bool) -> None:
    """Devices at risk, silent devices and firing alerts, refreshed in the terminal."""
    from core.settings import get_settings

    url = (prometheus_url or get_settings().prometheus_url).rstrip("/")
    while True:
        try:
            screen = render(url, top, threshold)
        except PrometheusUnavailable as error:
            if once:
                raise click.ClickException(str(error)) from error
            screen = f"waiting for Prometheus: {error}"
        if not once and click.get_text_stream("stdout").isatty():
            click.clear()
        click.echo(screen)
        if once:
            return
        time.sleep(interval)
