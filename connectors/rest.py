"""Apply connector configs through the Kafka Connect REST API and wait until they run."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import requests

CONFIG_DIR = Path(__file__).parent


class ConnectError(RuntimeError):
    pass


def load(path: Path, overrides: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """Read a `{"name", "config"}` file; overrides (e.g. a test's topic or table) win."""
    document = json.loads(path.read_text())
    config = {**document["config"], **(overrides or {})}
    return config.pop("name", document["name"]), config


def put_config(connect_url: str, name: str, config: dict[str, str], timeout: float = 60.0) -> dict[str, Any]:
    """Idempotent create-or-update; retries while the Connect group rebalances (409)."""
    deadline = time.monotonic() + timeout
    while True:
        response = requests.put(f"{connect_url}/connectors/{name}/config", json=config, timeout=30)
        if response.status_code in (200, 201):
            return response.json()
        if response.status_code != 409 or time.monotonic() > deadline:
            raise ConnectError(f"PUT {name}: {response.status_code} {response.text}")
        time.sleep(1)


def status(connect_url: str, name: str) -> dict[str, Any]:
    response = requests.get(f"{connect_url}/connectors/{name}/status", timeout=10)
    if response.status_code == 404:
        raise ConnectError(f"connector {name} does not exist")
    response.raise_for_status()
    return response.json()


def wait_running(connect_url: str, name: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    current: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            current = status(connect_url, name)
        except ConnectError:
            time.sleep(0.5)
            continue
        tasks = current.get("tasks", [])
        failed = [task for task in tasks if task["state"] == "FAILED"]
        if failed:
            raise ConnectError(f"{name} task failed:\n{failed[0].get('trace', '')[:3000]}")
        if current["connector"]["state"] == "RUNNING" and tasks and all(t["state"] == "RUNNING" for t in tasks):
            return current
        time.sleep(0.5)
    raise ConnectError(f"{name} not RUNNING after {timeout:.0f}s: {current}")


def delete(connect_url: str, name: str) -> None:
    response = requests.delete(f"{connect_url}/connectors/{name}", timeout=30)
    if response.status_code not in (204, 404):
        raise ConnectError(f"DELETE {name}: {response.status_code} {response.text}")


def apply(connect_url: str, path: Path, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    name, config = load(path, overrides)
    put_config(connect_url, name, config)
    return wait_running(connect_url, name)


def default_files() -> list[Path]:
    return sorted(CONFIG_DIR.glob("*.json"))
