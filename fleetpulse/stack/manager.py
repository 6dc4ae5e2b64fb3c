"""`fleetpulse stack up|down|status|logs`: start, stop and inspect the local stack."""

from __future__ import annotations

import time

import click

from core.settings import Settings
from fleetpulse.stack.components import Component, all_components
from fleetpulse.stack.install import InstallError
from fleetpulse.stack.processes import ProcessTable


class StackError(RuntimeError):
    pass


def _table(settings: Settings) -> ProcessTable:
    return ProcessTable(settings.stack_dir.resolve())


def _wait_healthy(component: Component, processes: ProcessTable, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if component.healthy():
            return time.monotonic() - started
        if processes.pid(component.name) is None:
            raise StackError(
                f"{component.name} exited during start-up. Last log lines:\n{processes.tail(component.name)}"
            )
        time.sleep(0.5)
    raise StackError(
        f"{component.name} not healthy after {timeout:.0f}s ({component.url}). "
        f"Last log lines:\n{processes.tail(component.name)}"
    )


def up(settings: Settings, timeout: float = 120.0) -> None:
    processes = _table(settings)
    for component in all_components(settings):
        if processes.pid(component.name) is not None and component.healthy():
            click.echo(f"{component.name:<11} already running  {component.url}")
            continue
        if component.healthy():
            raise StackError(
                f"{component.name}: something not started by this stack answers at "
                f"{component.url}; stop it or change the port settings"
            )
        started = time.monotonic()
        try:
            argv = component.prepare()
        except InstallError as error:
            raise StackError(str(error)) from error
        component.home.mkdir(parents=True, exist_ok=True)
        processes.start(component.name, argv, env=component.env(), cwd=component.home)
        _wait_healthy(component, processes, timeout)
        click.echo(f"{component.name:<11} healthy in {time.monotonic() - started:5.1f}s  {component.url}")


def down(settings: Settings) -> None:
    """Stop the pipeline's processes (worker, simulator, … started by `demo`) first, then the servers."""
    processes = _table(settings)
    servers = all_components(settings)
    for name in sorted(set(processes.names()) - {component.name for component in servers}):
        if processes.stop(name):
            click.echo(f"{name:<11} stopped")
    for component in reversed(servers):
        stopped = processes.stop(component.name)
        click.echo(f"{component.name:<11} {'stopped' if stopped else 'not running'}")


def status(settings: Settings) -> bool:
    processes = _table(settings)
    all_healthy = True
    for component in all_components(settings):
        pid = processes.pid(component.name)
        healthy = pid is not None and component.healthy()
        all_healthy &= healthy
        state = "healthy" if healthy else ("unhealthy" if pid else "stopped")
        click.echo(f"{component.name:<11} {state:<9} pid={pid or '-':<8} {component.url}")
    return all_healthy


def logs(settings: Settings, name: str, lines: int) -> str:
    return _table(settings).tail(name, lines)
