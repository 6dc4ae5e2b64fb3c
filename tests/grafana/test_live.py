"""Everything Grafana and the alerting path would execute, executed against real processes.

A real stream worker scores real readings from Kafka; our own Prometheus (scrape 1 s, the catalogue's
rules with `for: 5s`) scrapes it and the producer; our own Alertmanager (group_wait 1 s) sends to a local
SMTP server (aiosmtpd) and a local fake Telegram Bot API. Injected failures: one device runs hot, one goes
silent, one out-of-range reading. The shared stack's Prometheus is never touched.
"""

from __future__ import annotations

import email
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import requests
import yaml
from aiosmtpd.controller import Controller
from prometheus_client import start_http_server
from pydantic import SecretStr

from connectors import rest
from connectors.desired import desired
from connectors.tables import create_tables
from core.partitioning import partition_for
from core.settings import Settings
from core.topics import create_topics
from fleetpulse.stack.processes import ProcessTable
from grafana import alerts, watch
from grafana import metrics as m
from grafana.stack import write_alertmanager_config, write_prometheus_rules
from producers.kafka_producer import ReadingProducer
from schemas import Reading, encode
from tests.conftest import isolated_settings
from tests.grafana.queries import dashboard_queries, grafana_rule_queries, substitute
from tests.harness import RealProcess, free_port, produce_raw, start_worker, wait_for, wait_worker_ready

pytestmark = pytest.mark.integration

HOT, SILENT = "gf-pc-hot", "gf-pc-silent"
# Far past the PC's critical 95 °C: the model scores a PC at 97 °C 0.69 and reaches the page threshold
# (0.8) only past ~113 °C, so a 97 °C device never paged once the threshold really applied to the score.
HOT_C = 118.0
CALM = [f"gf-pc-calm{i}" for i in range(3)]
BOT_TOKEN, CHAT_ID = "123456:test-token", 4242
TIMING = alerts.TEST


# --- the two notification sinks ------------------------------------------------------------------------


class FakeTelegram(ThreadingHTTPServer):
    """Answers the Bot API like Telegram does and records every sendMessage."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.paths: list[str] = []
        super().__init__(("127.0.0.1", 0), _TelegramHandler)


class _TelegramHandler(BaseHTTPRequestHandler):
    server: FakeTelegram

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        self.server.paths.append(self.path)
        if self.headers.get("Content-Type", "").startswith("application/json"):
            payload = json.loads(body)
        else:
            payload = {k: v[0] for k, v in parse_qs(body).items()}
        if self.path.endswith("/sendMessage"):
            self.server.messages.append(payload)
            result: dict = {"message_id": len(self.server.messages), "date": int(time.time()), "text": payload["text"]}
            result["chat"] = {"id": int(payload.get("chat_id", 0)), "type": "private"}
        else:  # getMe
            result = {"id": 123456, "is_bot": True, "first_name": "fleetpulse", "username": "fleetpulse_bot"}
        data = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Mailbox:
    messages: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        parsed = email.message_from_bytes(envelope.content)  # type: ignore[attr-defined]
        text = [f"Subject: {parsed['Subject']}"]
        for part in parsed.walk():
            if part.get_content_type() == "text/plain":
                text.append(part.get_payload(decode=True).decode(errors="replace"))
        self.messages.append("\n".join(text))
        return "250 OK"


# --- our own Prometheus and Alertmanager ---------------------------------------------------------------


@dataclass
class Observability:
    settings: Settings
    prometheus_url: str
    alertmanager_url: str
    telegram: FakeTelegram
    mailbox: Mailbox
    producer_port: int

    def query(self, expr: str) -> list[dict]:
        response = requests.get(f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        assert body["status"] == "success", f"{expr}: {body}"
        return body["data"]["result"]

    def telegram_texts(self, needle: str) -> list[str]:
        return [msg["text"] for msg in list(self.telegram.messages) if needle in msg["text"]]

    def emails(self, needle: str) -> list[str]:
        return [text for text in list(self.mailbox.messages) if needle in text]


def _reading(device_id: str, seq: int, temperature: float, age_s: float = 0.0) -> Reading:
    return Reading(
        device_id=device_id,
        device_type="pc",
        ts=int((time.time() - age_s) * 1000),
        seq=seq,
        temperature_c=temperature,
        power_w=120.0,
        load_pct=40.0,
        voltage_v=12.0,
        fan_cfm=35.0,
        clock_ghz=3.6,
    )


@pytest.fixture(scope="module")
def live(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observability]:
    home = tmp_path_factory.mktemp("observability")
    telegram = FakeTelegram()
    threading.Thread(target=telegram.serve_forever, daemon=True).start()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    settings = isolated_settings(
        stack,
        worker_device_metrics="all",
        worker_silent_seconds=6.0,
        worker_liveness_sweep_seconds=0.5,
        telegram_bot_token=SecretStr(BOT_TOKEN),
        telegram_api_url=f"http://127.0.0.1:{telegram.server_port}",
        alert_telegram_chat_id=CHAT_ID,
        alert_email_to="oncall@example.org",
        alert_smtp_smarthost=f"127.0.0.1:{smtp.port}",
        alert_smtp_from="fleetpulse@example.org",
        alertmanager_port=free_port(),
        prometheus_port=free_port(),
    )
    producer_port = free_port()
    start_http_server(producer_port, addr="127.0.0.1")  # this test process is the producer

    processes = ProcessTable(home)
    am_config = write_alertmanager_config(home / "alertmanager", settings, TIMING)
    processes.start(
        "alertmanager",
        [
            shutil.which("prometheus-alertmanager") or "prometheus-alertmanager",
            f"--config.file={am_config}",
            f"--storage.path={home / 'alertmanager' / 'data'}",
            f"--web.listen-address=127.0.0.1:{settings.alertmanager_port}",
            "--cluster.listen-address=",
        ],
    )
    rules = write_prometheus_rules(home / "prometheus", settings, TIMING)
    config = {
        "global": {"scrape_interval": f"{TIMING.scrape}s", "evaluation_interval": f"{TIMING.evaluation}s"},
        "rule_files": [str(rules)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{settings.alertmanager_port}"]}]}]},
        "scrape_configs": [
            {
                "job_name": m.WORKER_JOB,
                "static_configs": [{"targets": [f"127.0.0.1:{settings.worker_metrics_port}"]}],
            },
            {"job_name": "fleetpulse-producer", "static_configs": [{"targets": [f"127.0.0.1:{producer_port}"]}]},
            {
                "job_name": m.CONNECT_JOB,  # the stack's Connect, through its JMX exporter
                "static_configs": [{"targets": [f"127.0.0.1:{settings.connect_metrics_port}"]}],
            },
        ],
    }
    (home / "prometheus" / "prometheus.yml").write_text(yaml.safe_dump(config))
    processes.start(
        "prometheus",
        [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={home / 'prometheus' / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'prometheus' / 'data'}",
            f"--web.listen-address=127.0.0.1:{settings.prometheus_port}",
        ],
    )
    obs = Observability(
        settings,
        f"http://127.0.0.1:{settings.prometheus_port}",
        f"http://127.0.0.1:{settings.alertmanager_port}",
        telegram,
        mailbox,
        producer_port,
    )
    worker: RealProcess | None = None
    stop = threading.Event()
    # The scores go on to DynamoDB through a real sink connector, so the Connect panels have data.
    sink_name, sink_config = next(
        (name, config)
        for name, config in desired(settings, name_prefix=f"{settings.worker_app_id}-").items()
        if name.endswith("fleetpulse-scores-dynamodb")
    )
    try:
        for url, name in ((obs.prometheus_url, "prometheus"), (obs.alertmanager_url, "alertmanager")):
            wait_for(lambda u=url: _ready(u), 30, f"{name} ready:\n{processes.tail(name)}")
        create_topics(settings)
        create_tables(settings)
        rest.apply_config(settings.connect_url, sink_name, sink_config)
        worker = start_worker(settings)
        wait_worker_ready(settings, worker)
        feeder = threading.Thread(target=_feed, args=(settings, stop), daemon=True)
        feeder.start()
        # One reading beyond its physical range: dead-lettered by the worker as out_of_range.
        bad = b'{"device_id": "gf-bad", "device_type": "pc", "ts": 1795000000000, "seq": 1, "load_pct": 140}'
        produce_raw(settings, settings.topic_readings, [(b"gf-bad", bad)])
        # One reading dated a day ahead (future_time) and one keyed by something else (wrong_partition).
        ahead = encode(_reading("gf-ahead", 1, 50.0, age_s=-86_400))
        wrong_key = next(
            k for k in (b"k%d" % i for i in range(100)) if _partition(k, settings) != _partition(b"gf-x", settings)
        )
        produce_raw(
            settings, settings.topic_readings, [(b"gf-ahead", ahead), (wrong_key, encode(_reading("gf-x", 1, 50.0)))]
        )
        yield obs
    finally:
        stop.set()
        if worker is not None:
            worker.stop()
        rest.delete(settings.connect_url, sink_name)
        for name in ("prometheus", "alertmanager"):
            processes.stop(name)
        smtp.stop()
        telegram.shutdown()


def _partition(key: bytes, settings: Settings) -> int:
    return partition_for(key, settings.topic_partitions)


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/-/ready", timeout=1).ok
    except requests.RequestException:
        return False


def _feed(settings: Settings, stop: threading.Event) -> None:
    """Every 0.5 s a reading per device, in event time = now; the silent device stops after 4 s."""
    producer = ReadingProducer(settings)
    # One reading 2 minutes back first, so the live ones close its 1-min window (window-stat metrics).
    producer.send(_reading(HOT, 0, HOT_C, age_s=120.0))
    started, seq = time.monotonic(), 1
    while not stop.is_set():
        producer.send(_reading(HOT, seq, HOT_C))
        for device in CALM:
            producer.send(_reading(device, seq, 55.0))
        if time.monotonic() - started < 4:
            producer.send(_reading(SILENT, seq, 50.0))
        producer.poll(0)
        seq += 1
        stop.wait(0.5)
    producer.flush(10)


def _firing(obs: Observability, alertname: str, device_id: str) -> list[dict]:
    return obs.query(f'ALERTS{{alertname="{alertname}",device_id="{device_id}",alertstate="firing"}}')


@pytest.fixture(scope="module")
def fired(live: Observability) -> Observability:
    wait_for(lambda: _firing(live, "DeviceFailureScoreHigh", HOT), 90, f"DeviceFailureScoreHigh for {HOT}")
    wait_for(lambda: _firing(live, "DeviceSilent", SILENT), 60, f"DeviceSilent for {SILENT}")
    return live


# --- the tests -------------------------------------------------------------------------------------------


def test_a_hot_device_pages_once_on_telegram_and_email_with_device_and_reasons(fired: Observability) -> None:
    texts = wait_for(lambda: fired.telegram_texts(HOT), 30, f"a Telegram message naming {HOT}")
    mails = wait_for(lambda: fired.emails(HOT), 30, f"an e-mail naming {HOT}")
    message = texts[0]
    print(f"--- Telegram ---\n{message}\n--- e-mail ---\n{mails[0]}")  # shown with -s
    score = re.search(r"failure score (\d\.\d\d)", message)
    assert "DeviceFailureScoreHigh" in message and score and float(score[1]) >= 0.5, message
    assert f"temperature_c={HOT_C:g}" in message, f"the cause (latest readings) is named:\n{message}"
    assert "Reasons: temperature_c" in message and "top reason: temperature_c" in message, message
    assert f"var-device_id={HOT}" in message, "drilldown link"
    assert f"device {HOT}" in mails[0] and f"temperature_c={HOT_C:g}" in mails[0], mails[0]
    assert all(path == f"/bot{BOT_TOKEN}/sendMessage" for path in fired.telegram.paths if "sendMessage" in path)
    assert all(int(msg["chat_id"]) == CHAT_ID for msg in fired.telegram.messages)

    # Readings keep arriving (2 per second for this device); the group is notified once, not per reading.
    readings_before = _hot_readings(fired)
    time.sleep(8)
    assert _hot_readings(fired) >= readings_before + 10, "the hot device kept reporting"
    assert len(fired.telegram_texts(HOT)) == 1, fired.telegram_texts(HOT)
    assert len(fired.emails(HOT)) == 1, fired.emails(HOT)


def _hot_readings(obs: Observability) -> float:
    result = obs.query(f'sum({m.RECORDS_IN}{{job="{m.WORKER_JOB}"}})')
    return float(result[0]["value"][1]) if result else 0.0


def test_a_silent_device_pages_with_its_name(fired: Observability) -> None:
    texts = wait_for(lambda: fired.telegram_texts(SILENT), 30, f"a Telegram message naming {SILENT}")
    assert f"{SILENT} is silent" in texts[0], texts[0]
    assert not any(HOT in text for text in texts), "one group per device: the hot device has its own message"
    assert wait_for(lambda: fired.emails(SILENT), 30, f"an e-mail naming {SILENT}")


def test_every_dashboard_and_alert_query_returns_series(fired: Observability) -> None:
    for reason in ("out_of_range", "future_time", "wrong_partition"):
        wait_for(lambda r=reason: fired.query(f'{m.DEAD_LETTERS}{{reason="{r}"}}'), 30, f"the {reason} dead letter")
    queries = dashboard_queries() + grafana_rule_queries()
    queries += [(f"prometheus rule {a.name} (value)", a.query) for a in alerts.catalogue(TIMING)]
    empty = []
    for where, expr in queries:
        if ": annotation " in where:  # it marks events (e.g. drift) that may not happen here: its series must exist
            expr = re.sub(r"\s*>\s*0$", "", expr)
        if not fired.query(substitute(expr, HOT)):
            empty.append(f"{where}: {expr}")
    assert not empty, "queries without series:\n" + "\n".join(empty)
    assert len(queries) >= 30, [where for where, _ in queries]


def test_the_metric_contract_matches_the_running_pipeline(fired: Observability) -> None:
    """Every name in the metric contract (grafana/metrics.py) is exposed by the running pipeline."""
    names = [value for key, value in vars(m).items() if key.isupper() and isinstance(value, str)]
    metric_names = [n for n in names if n.startswith(("fleetpulse_", "kafka_connect_"))]
    missing = []
    for name in metric_names:
        selector = f'{{__name__=~"{name}|{name}_bucket"}}'
        if not fired.query(f"count({selector})"):
            missing.append(f"{name} ({m.PROVIDER.get(name)})")
    assert not missing, f"contract metrics not exposed: {missing}"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool missing")
@pytest.mark.parametrize("endpoint", ["worker", "producer"])
def test_promtool_check_metrics_on_the_live_endpoints(fired: Observability, endpoint: str) -> None:
    port = fired.settings.worker_metrics_port if endpoint == "worker" else fired.producer_port
    exposition = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    result = subprocess.run(["promtool", "check", "metrics"], input=exposition, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_watch_lists_the_device_at_risk_and_the_silent_one(fired: Observability) -> None:
    screen = watch.render(fired.prometheus_url, top=10, threshold=0.5)
    at_risk = screen.split("silent or dead:")[0]
    row = next(line for line in at_risk.splitlines() if line.startswith(HOT))
    assert float(row.split()[1]) >= 0.5 and SILENT not in at_risk, screen
    assert SILENT in screen.split("silent or dead:")[1], screen
    assert f"DeviceFailureScoreHigh {HOT}" in screen, screen


def test_prometheus_and_alertmanager_agree(fired: Observability) -> None:
    groups = requests.get(f"{fired.alertmanager_url}/api/v2/alerts/groups", timeout=5).json()
    by_device = {g["labels"].get("device_id"): g for g in groups if g["labels"].get("device_id")}
    assert {HOT, SILENT} <= set(by_device), list(by_device)
    assert "DeviceFailureScoreHigh" in [a["labels"]["alertname"] for a in by_device[HOT]["alerts"]]
