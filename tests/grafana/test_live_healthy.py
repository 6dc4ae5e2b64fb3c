"""No false alarms, live: a real Prometheus (scrape 1 s, every rule of the catalogue with its `for` cut to
5 s, as in test_live.py) scrapes a real worker scoring a real healthy simulated fleet for a whole minute,
far more than twice any rule's `for`. No alert may even go pending, no device may turn silent or dead, no
reading may be refused, and the worker's fleet view says what its metrics say.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
import yaml

from core.settings import Settings
from core.topics import create_topics
from fleetpulse.stack.processes import ProcessTable
from grafana import alerts
from grafana import metrics as m
from grafana.stack import write_prometheus_rules
from tests.conftest import isolated_settings
from tests.harness import RealProcess, free_port, start_worker, wait_for, wait_worker_ready

pytestmark = pytest.mark.integration

DEVICES = 12
WATCH_S = 60  # >= 2x every rule's `for` under alerts.TEST (5 s), and 3x the silent threshold below
TIMING = alerts.TEST


@dataclass
class Healthy:
    settings: Settings
    prometheus_url: str
    watched_s: float

    def query(self, expr: str) -> list[dict]:
        body = requests.get(f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10).json()
        assert body["status"] == "success", f"{expr}: {body}"
        return body["data"]["result"]


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/-/ready", timeout=1).ok
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def healthy(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Healthy]:
    home = tmp_path_factory.mktemp("healthy")
    settings = isolated_settings(
        stack,
        worker_device_metrics="all",
        worker_liveness_sweep_seconds=0.5,
        worker_silent_seconds=20.0,  # 20 cadences: a stall of the pipeline would show
        simulator_cadence_seconds=1.0,
        simulator_failure_rate_per_hour=0.0,
        prometheus_port=free_port(),
    )
    rules = write_prometheus_rules(home / "prometheus", settings, TIMING)
    config = {
        "global": {"scrape_interval": f"{TIMING.scrape}s", "evaluation_interval": f"{TIMING.evaluation}s"},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {"job_name": m.WORKER_JOB, "static_configs": [{"targets": [f"127.0.0.1:{settings.worker_metrics_port}"]}]},
            {
                "job_name": "fleetpulse-simulator",
                "static_configs": [{"targets": [f"127.0.0.1:{settings.simulator_metrics_port}"]}],
            },
            {
                "job_name": m.CONNECT_JOB,
                "static_configs": [{"targets": [f"127.0.0.1:{settings.connect_metrics_port}"]}],
            },
        ],
    }
    (home / "prometheus" / "prometheus.yml").write_text(yaml.safe_dump(config))
    processes = ProcessTable(home)
    create_topics(settings)
    url = f"http://127.0.0.1:{settings.prometheus_port}"
    worker = start_worker(settings)
    simulator = None
    try:
        wait_worker_ready(settings, worker)
        processes.start(  # scraping from when the worker is up: its start-up is no outage
            "prometheus",
            [
                shutil.which("prometheus") or "prometheus",
                f"--config.file={home / 'prometheus' / 'prometheus.yml'}",
                f"--storage.tsdb.path={home / 'prometheus' / 'data'}",
                f"--web.listen-address=127.0.0.1:{settings.prometheus_port}",
            ],
        )
        wait_for(lambda: _ready(url), 30, f"prometheus ready:\n{processes.tail('prometheus')}")
        args = ("--devices", str(DEVICES), "--speedup", "1", "--api-port", "0")
        simulator = RealProcess(settings, "simulate", *args, log_name=f"{settings.worker_app_id}-sim").start()
        obs = Healthy(settings, url, 0.0)
        wait_for(
            lambda: len(obs.query(m.DEVICE_SCORE)) == DEVICES, 90, f"scores of all {DEVICES} devices in Prometheus"
        )
        started = time.monotonic()
        while time.monotonic() - started < WATCH_S:
            assert worker.alive(), worker.log()
            assert simulator.alive(), simulator.log()
            time.sleep(2)
        obs.watched_s = time.monotonic() - started
        yield obs
    finally:
        for process in (simulator, worker):
            if process is not None:
                process.stop()
        processes.stop("prometheus")


def _window(obs: Healthy) -> str:
    return f"{int(obs.watched_s) + 30}s"  # the watch, plus the warm-up after the first scores


def test_no_alert_goes_even_pending_on_a_healthy_fleet(healthy: Healthy) -> None:
    assert healthy.watched_s >= 2 * max(a.for_seconds for a in alerts.catalogue(TIMING))
    assert healthy.query("count(ALERTS_FOR_STATE) or vector(0)")  # the rules are evaluated at all
    fired = healthy.query(f"count by (alertname, alertstate, device_id) (count_over_time(ALERTS[{_window(healthy)}]))")
    assert fired == [], [r["metric"] for r in fired]


def test_devices_that_keep_reporting_never_turn_silent_or_dead(healthy: Healthy) -> None:
    worst = healthy.query(f"max_over_time({m.DEVICE_LIVENESS}[{_window(healthy)}]) >= {m.SILENT}")
    assert worst == [], [r["metric"]["device_id"] for r in worst]
    transitions = healthy.query('sum(fleetpulse_worker_liveness_transitions_total{state=~"silent|dead"}) > 0')
    assert transitions == []
    assert healthy.query(f"sum({m.DEAD_LETTERS}) > 0") == [], "a healthy fleet sends nothing to dead letters"


def test_the_workers_fleet_view_agrees_with_its_metrics(healthy: Healthy) -> None:
    port = healthy.settings.worker_web_port
    kpis = requests.get(f"http://127.0.0.1:{port}/fleet/kpis/", timeout=5).json()
    by_state = {r["metric"]["state"]: float(r["value"][1]) for r in healthy.query(m.FLEET_DEVICES)}
    assert kpis["devices"] == DEVICES and by_state.get("silent", 0) == by_state.get("dead", 0) == 0, kpis
    assert kpis["by_state"]["silent"] == kpis["by_state"]["dead"] == 0, kpis
