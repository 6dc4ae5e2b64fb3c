"""Kafka Connect REST API: apply (idempotent PUT, retried on 409), diff, status, pause, resume, restart."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import requests

CONFIG_DIR = Path(__file__).parent
# Keys whose values are secrets; a config-provider reference such as ${env:X} is not a secret and is shown.
SECRET_KEY = re.compile(r"(secret|password|token|access\.key|credentials)", re.IGNORECASE)
PROVIDER_REFERENCE = re.compile(r"^\$\{[a-z]+:[^}]*\}$")
MASK = "******"


class ConnectError(RuntimeError):
    pass


def load(path: Path) -> tuple[str, dict[str, str]]:
    """Read a `{"name", "config"}` file (plain Connect JSON)."""
    document = json.loads(path.read_text())
    return document["name"], dict(document["config"])


def _request(method: str, url: str, *, timeout: float = 60.0, **kwargs: Any) -> requests.Response:
    """One REST call, retried while the Connect group rebalances (409) or the worker restarts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = requests.request(method, url, timeout=30, **kwargs)
        except requests.ConnectionError as error:
            if time.monotonic() > deadline:
                raise ConnectError(f"{method} {url}: Connect unreachable: {error}") from error
        else:
            if response.status_code != 409 or time.monotonic() > deadline:
                return response
        time.sleep(1)


def put_config(connect_url: str, name: str, config: dict[str, str], timeout: float = 60.0) -> dict[str, Any]:
    """Idempotent create-or-update."""
    response = _request("PUT", f"{connect_url}/connectors/{name}/config", json=config, timeout=timeout)
    if response.status_code not in (200, 201):
        raise ConnectError(f"PUT {name}: {response.status_code} {response.text}")
    return response.json()


def get_config(connect_url: str, name: str) -> dict[str, str] | None:
    response = _request("GET", f"{connect_url}/connectors/{name}/config")
    if response.status_code == 404:
        return None
    if not response.ok:
        raise ConnectError(f"GET {name} config: {response.status_code} {response.text}")
    return response.json()


def status(connect_url: str, name: str) -> dict[str, Any]:
    response = _request("GET", f"{connect_url}/connectors/{name}/status")
    if response.status_code == 404:
        raise ConnectError(f"connector {name} does not exist")
    if not response.ok:
        raise ConnectError(f"GET {name} status: {response.status_code} {response.text}")
    return response.json()


def wait_state(connect_url: str, name: str, state: str = "RUNNING", timeout: float = 60.0) -> dict[str, Any]:
    """Wait until the connector and all its tasks are in `state`; a FAILED task fails fast with its trace."""
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
            raise ConnectError(f"{name} task {failed[0]['id']} failed:\n{failed[0].get('trace', '')[:3000]}")
        if current["connector"]["state"] == state and tasks and all(t["state"] == state for t in tasks):
            return current
        time.sleep(0.5)
    raise ConnectError(f"{name} not {state} after {timeout:.0f}s: {current}")


def wait_running(connect_url: str, name: str, timeout: float = 60.0) -> dict[str, Any]:
    return wait_state(connect_url, name, "RUNNING", timeout)


def delete(connect_url: str, name: str) -> None:
    response = _request("DELETE", f"{connect_url}/connectors/{name}")
    if response.status_code not in (204, 404):
        raise ConnectError(f"DELETE {name}: {response.status_code} {response.text}")


def apply_config(connect_url: str, name: str, config: dict[str, str], timeout: float = 60.0) -> dict[str, Any]:
    put_config(connect_url, name, config, timeout)
    return wait_running(connect_url, name, timeout)


def _action(connect_url: str, method: str, path: str, ok: tuple[int, ...]) -> None:
    response = _request(method, f"{connect_url}{path}")
    if response.status_code == 404:
        raise ConnectError(f"{path}: no such connector")
    if response.status_code not in ok:
        raise ConnectError(f"{method} {path}: {response.status_code} {response.text}")


def pause(connect_url: str, name: str) -> dict[str, Any]:
    _action(connect_url, "PUT", f"/connectors/{name}/pause", (202,))
    return wait_state(connect_url, name, "PAUSED")


def resume(connect_url: str, name: str) -> dict[str, Any]:
    _action(connect_url, "PUT", f"/connectors/{name}/resume", (202,))
    return wait_running(connect_url, name)


def restart(connect_url: str, name: str) -> dict[str, Any]:
    """Restart the connector and all its tasks (failed or not), then wait until they run again."""
    _action(connect_url, "POST", f"/connectors/{name}/restart?includeTasks=true&onlyFailed=false", (200, 202, 204))
    return wait_running(connect_url, name)


def masked(config: dict[str, str]) -> dict[str, str]:
    return {
        key: MASK if SECRET_KEY.search(key) and not PROVIDER_REFERENCE.match(str(value)) else str(value)
        for key, value in config.items()
    }


def diff(desired: dict[str, str], actual: dict[str, str] | None) -> list[str]:
    """Lines `+ key=value` (to add), `- key=value` (to remove), `~ key: old -> new`; secrets masked.
    Connect adds `name` to every stored config, so it is not a difference."""
    if actual is None:
        return ["(connector does not exist; apply creates it)"]
    want, have = masked(desired), masked({k: v for k, v in actual.items() if k != "name"})
    lines = [f"+ {k}={want[k]}" for k in sorted(want.keys() - have.keys())]
    lines += [f"- {k}={have[k]}" for k in sorted(have.keys() - want.keys())]
    lines += [f"~ {k}: {have[k]} -> {want[k]}" for k in sorted(want.keys() & have.keys()) if want[k] != have[k]]
    if not lines and desired != {k: v for k, v in actual.items() if k != "name"}:
        lines.append("~ a secret value differs (masked)")
    return lines
