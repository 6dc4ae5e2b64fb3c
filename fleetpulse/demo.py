"""`fleetpulse demo`: bring up everything and leave a simulated fleet running, then say where to look.

By default event time runs 60x faster than the wall clock and one failure is scripted, so within about
three minutes a newcomer sees the product's story: a device degrades, its failure score rises with its
reasons before it fails, an alert reaches Alertmanager, and the device goes silent. `--real-time` runs
the same fleet at 1x.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace

import click
import requests

from connectors import rest
from connectors.desired import desired
from connectors.tables import create_tables, dynamodb_client
from core.settings import Settings
from core.topics import create_topics
from fleetpulse.stack import manager
from fleetpulse.stack.components import LOCAL_ALERT_TIMING
from fleetpulse.stack.processes import ProcessTable
from grafana.stack import write_prometheus_rules

DEMO_SPEEDUP = 60.0
DEMO_DEVICE = "sim-pc-00000"
DEMO_MODE = "fan_failure"
DEMO_ONSET_MINUTES = 10.0  # event minutes after the first round: warm-up (5 min) is over by then
DEMO_ALERT_HOLD_S = 10  # alert `for`s are wall time: 10 event-minutes at 60x


@dataclass(frozen=True)
class Story:
    speedup: float
    device_id: str = DEMO_DEVICE
    mode: str = DEMO_MODE
    onset_minutes: float = DEMO_ONSET_MINUTES

    @property
    def scripted(self) -> str:
        return f"{self.device_id}:{self.mode}@{self.onset_minutes:g}"

    def settings(self) -> dict[str, object]:
        """The worker's idle liveness clock must run at the simulator's pace, or live devices look late."""
        return {
            "simulator_speedup": self.speedup,
            "worker_event_clock_rate": self.speedup,
            "simulator_scripted_failures": self.scripted,
        }

    def env(self) -> dict[str, str]:
        return {f"FLEETPULSE_{name.upper()}": str(value) for name, value in self.settings().items()}


def start_pipeline(settings: Settings, story: Story) -> None:
    """The worker and the simulator as managed processes: `fleetpulse stack down` stops them too."""
    processes = ProcessTable(settings.stack_dir.resolve())
    for name, argv in (
        ("worker", [sys.executable, "-m", "fleetpulse", "worker"]),
        ("simulator", [sys.executable, "-m", "fleetpulse", "simulate"]),
    ):
        if processes.pid(name) is None:
            processes.start(name, argv, env=story.env())
            click.echo(f"{name:<11} started (logs: fleetpulse stack logs {name})")


def compress_alert_holds(settings: Settings, story: Story) -> None:
    """Rewrite the stack's alert rules with the device alerts' holds scaled to compressed event time, and reload
    Prometheus. The pipeline's alerts keep theirs: a worker that is not up yet when the demo starts it is not
    down (with a 10 s hold, WorkerDown fired at every demo's start)."""
    if story.speedup <= 1:
        return
    hold = max(DEMO_ALERT_HOLD_S, int(600 / story.speedup))
    timing = replace(LOCAL_ALERT_TIMING, for_override=hold, override_devices_only=True)
    write_prometheus_rules(settings.stack_dir.resolve() / "prometheus", settings, timing)
    requests.post(f"{settings.prometheus_url}/-/reload", timeout=10).raise_for_status()


def wait_for_items(settings: Settings, timeout: float = 180.0) -> int:
    client = dynamodb_client(settings)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = client.scan(TableName=settings.table_scores, Select="COUNT", Limit=1000)["Count"]
        if count:
            return count
        time.sleep(2)
    raise RuntimeError("no scores reached DynamoDB; see `fleetpulse stack logs worker` and `... connect`")


def summary(settings: Settings, story: Story) -> str:
    onset_wall_s = story.onset_minutes * 60 / story.speedup
    score = f'fleetpulse_worker_device_failure_score{{device_id="{story.device_id}"}}'
    return f"""
FleetPulse is running: {settings.simulator_devices} simulated devices, one reading each every
{settings.simulator_cadence_seconds:g} s of event time, event time at {story.speedup:g}x the wall clock, scored by
the worker and sunk to DynamoDB by Kafka Connect.

What happens next: {story.device_id} begins a {story.mode} {story.onset_minutes:g} event-minutes in
(~{onset_wall_s:.0f} s of wall time after the fleet started). Its failure score rises with its reasons before it
fails, an alert reaches Alertmanager, and when it fails it goes silent (then is repaired). Other devices
fail at random.

  Watch it      .venv/bin/fleetpulse watch
  Its score     {settings.prometheus_url}/graph?g0.expr={score}
  Alerts        {settings.prometheus_url}/alerts   and   http://127.0.0.1:{settings.alertmanager_port}/#/alerts
  Its status    .venv/bin/fleetpulse query {story.device_id}
  DynamoDB      aws dynamodb query --endpoint-url {settings.dynamodb_endpoint} --table-name {settings.table_scores} \\
                  --key-condition-expression 'device_id = :d' \\
                  --expression-attribute-values '{{":d": {{"S": "{story.device_id}"}}}}' \\
                  --no-scan-index-forward --limit 3
  Connect       {settings.connect_url}/connectors?expand=status
  Stop it all   make down
"""


def run(settings: Settings, speedup: float = DEMO_SPEEDUP) -> None:
    story = Story(speedup=speedup)
    manager.up(settings)
    compress_alert_holds(settings, story)
    create_topics(settings)
    create_tables(settings)
    for name, config in desired(settings).items():  # the JSON files, with topics/tables from the settings
        rest.apply_config(settings.connect_url, name, config)
        click.echo(f"connector   applied  {name}")
    start_pipeline(settings, story)
    wait_for_items(settings)
    click.echo(summary(settings, story))
