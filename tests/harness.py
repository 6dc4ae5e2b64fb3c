"""Test helpers that drive real processes and read real servers: no fakes here."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests
from confluent_kafka import Consumer, Message, Producer

from core.kafka.config import confluent_config, confluent_producer_config
from core.settings import Settings
from fleetpulse.stack.components import Component, register_target
from fleetpulse.stack.processes import ProcessTable

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings_env(settings: Settings) -> dict[str, str]:
    """The env vars that reproduce `settings` in a child process."""
    env = {}
    for name, value in settings.model_dump().items():
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"FLEETPULSE_{name.upper()}"] = str(value)
    return env


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


class RealProcess:
    """A `fleetpulse` subcommand run as a real child process, killable like in production."""

    def __init__(self, settings: Settings, *args: str, log_name: str, module: str = "fleetpulse") -> None:
        self.log_path = Path(settings.stack_dir).resolve() / "logs" / f"{log_name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.args, self.module = args, module
        self.env = {**os.environ, **settings_env(settings)}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RealProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=ROOT,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> None:
        if not self.alive():
            return
        assert self.process is not None
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def start_ingest(settings: Settings, log_name: str) -> tuple[RealProcess, str]:
    """A real `fleetpulse ingest` on settings.ingest_port, once /healthz answers; (process, base URL)."""
    process = RealProcess(settings, "ingest", log_name=log_name).start()
    url = f"http://127.0.0.1:{settings.ingest_port}"

    def up() -> bool:
        assert process.alive(), process.log()
        try:
            return requests.get(f"{url}/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    wait_for(up, 30, "the ingest server")
    return process, url


def start_worker(settings: Settings, name: str = "worker") -> RealProcess:
    worker = RealProcess(settings, "worker", log_name=f"{settings.worker_app_id}-{name}").start()
    register_target(settings, f"{settings.worker_app_id}-{name}", "fleetpulse-worker", settings.worker_metrics_port)
    return worker


def wait_worker_ready(settings: Settings, worker: RealProcess, timeout: float = 90) -> None:
    def ready() -> bool:
        assert worker.alive(), f"worker exited:\n{worker.log()}"
        try:
            return requests.get(f"http://127.0.0.1:{settings.worker_metrics_port}/metrics", timeout=1).ok
        except requests.RequestException:
            return False

    wait_for(ready, timeout, "the worker's metrics endpoint")
    wait_for(lambda: "Worker ready" in worker.log(400), timeout, "Faust 'Worker ready'")


def produce_raw(settings: Settings, topic: str, records: list[tuple[bytes | None, bytes]]) -> None:
    """Keys partitioned like the project's producers (murmur2), so the worker state lands where it would."""
    producer = Producer(confluent_producer_config(settings, log_level=0))
    for key, value in records:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0


def consume(
    settings: Settings,
    topic: str,
    expected: int = 1,
    timeout: float = 60,
    until: Callable[[list[Message]], bool] | None = None,
) -> list[Message]:
    """Read a topic from the beginning until `expected` records arrived and `until(records)` holds (or fail
    on timeout)."""
    consumer = Consumer(
        confluent_config(
            settings,
            **{
                "group.id": f"test-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "log_level": 0,
            },
        )
    )
    consumer.subscribe([topic])
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    try:

        def done() -> bool:
            return len(messages) >= expected and (until is None or until(messages))

        while not done() and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                messages.append(message)
    finally:
        consumer.close()
    assert done(), f"{topic}: {len(messages)} records within {timeout}s, expected {expected} and `until`"
    return messages


def drain(settings: Settings, topic: str, idle_s: float = 5.0) -> list[bytes]:
    """Every record value of a topic, read from the beginning until none arrived for `idle_s`."""
    consumer = Consumer(
        confluent_config(
            settings,
            **{"group.id": f"test-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest", "log_level": 0},
        )
    )
    consumer.subscribe([topic])
    values, last = [], time.monotonic()
    try:
        while time.monotonic() - last < idle_s:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value())
                last = time.monotonic()
    finally:
        consumer.close()
    return values


class OwnServers:
    """Servers a test or bench starts for itself (so it may stop and restart them), tracked by pid."""

    def __init__(self, stack_dir: Path) -> None:
        self.processes = ProcessTable(stack_dir)

    def start(self, component: Component, timeout: float = 120) -> None:
        argv = component.prepare()
        component.home.mkdir(parents=True, exist_ok=True)
        self.processes.start(component.name, argv, env=component.env(), cwd=component.home)
        wait_for(component.healthy, timeout, f"{component.name} healthy:\n{self.processes.tail(component.name)}")

    def stop(self, component: Component) -> None:
        self.processes.stop(component.name)


def prometheus_query(settings: Settings, expr: str) -> list[dict[str, Any]]:
    response = requests.get(f"{settings.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]["result"]
