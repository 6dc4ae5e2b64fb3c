"""`fleetpulse demo`: bring up everything and leave a simulated fleet running, then say where to look."""

from __future__ import annotations

import sys
import time

import click

from connectors import rest
from connectors.desired import desired
from connectors.tables import create_tables, dynamodb_client
from fleetpulse.settings import Settings
from fleetpulse.stack import manager
from fleetpulse.stack.processes import ProcessTable
from fleetpulse.topics import create_topics


def start_pipeline(settings: Settings) -> None:
    """The worker and the simulator as managed processes: `fleetpulse stack down` stops them too."""
    processes = ProcessTable(settings.stack_dir.resolve())
    for name, argv in (
        ("worker", [sys.executable, "-m", "fleetpulse", "worker"]),
        ("simulator", [sys.executable, "-m", "fleetpulse", "simulate"]),
    ):
        if processes.pid(name) is None:
            processes.start(name, argv)
            click.echo(f"{name:<11} started (logs: fleetpulse stack logs {name})")


def wait_for_items(settings: Settings, timeout: float = 180.0) -> int:
    client = dynamodb_client(settings)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = client.scan(TableName=settings.table_scores, Select="COUNT", Limit=1000)["Count"]
        if count:
            return count
        time.sleep(2)
    raise RuntimeError("no scores reached DynamoDB; see `fleetpulse stack logs worker` and `... connect`")


def run(settings: Settings) -> None:
    manager.up(settings)
    create_topics(settings)
    create_tables(settings)
    for name, config in desired(settings).items():  # the JSON files, with topics/tables from the settings
        rest.apply_config(settings.connect_url, name, config)
        click.echo(f"connector   applied  {name}")
    start_pipeline(settings)
    wait_for_items(settings)
    first = "sim-pc-00000"
    click.echo(f"""
FleetPulse is running: {settings.simulator_devices} simulated devices, one reading each every
{settings.simulator_cadence_seconds:g}s, scored by the worker and sunk to DynamoDB by Kafka Connect.

  Prometheus   {settings.prometheus_url}/graph?g0.expr=rate(fleetpulse_worker_records_in_total[1m])
  Connect      {settings.connect_url}/connectors?expand=status
  DynamoDB     aws dynamodb query --endpoint-url {settings.dynamodb_endpoint} --table-name {settings.table_scores} \\
                 --key-condition-expression 'device_id = :d' \\
                 --expression-attribute-values '{{":d": {{"S": "{first}"}}}}' --no-scan-index-forward --limit 3
               (or: .venv/bin/fleetpulse query {first})
  Stop it all  make down
""")
