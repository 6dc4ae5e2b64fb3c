"""The grafana/ commands: `fleetpulse grafana generate` and `fleetpulse watch`."""

from __future__ import annotations

import sys

import click

from grafana.watch import watch

__all__ = ["grafana", "watch"]


@click.group("grafana")
def grafana() -> None:
    """Dashboards, Grafana alerting and Prometheus rules, generated from grafana/*.py."""


@grafana.command("generate")
@click.option("--check", is_flag=True, help="Exit 1 if a committed file differs from what would be generated.")
def generate(check: bool) -> None:
    """Write grafana/dashboards, grafana/provisioning and grafana/prometheus."""
    from grafana.provisioning import ROOT, render_all, write_all

    if check:
        files = render_all().items()
        stale = [name for name, text in files if not (ROOT / name).exists() or (ROOT / name).read_text() != text]
        for name in stale:
            click.echo(f"stale: grafana/{name}")
        sys.exit(1 if stale else 0)
    for path in write_all():
        click.echo(f"wrote {path.relative_to(ROOT.parent)}")
