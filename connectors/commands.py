"""`fleetpulse tables` and `fleetpulse connectors apply|diff|status|pause|resume|restart`."""

from __future__ import annotations

import click

from core.settings import get_settings

NAME_PREFIX = click.option("--prefix", default="", help="Prefix of connector names (keeps test connectors apart).")


@click.command("tables")
def tables() -> None:
    """Create the DynamoDB tables, or migrate them to the current spec (index, TTL); idempotent."""
    from connectors.tables import TableError, ensure_tables

    try:
        for migration in ensure_tables(get_settings()):
            click.echo(f"{migration.table:<32} {', '.join(migration.actions) or 'up to date'}")
    except TableError as error:
        raise click.ClickException(str(error)) from error


@click.group("connectors")
def connectors() -> None:
    """Kafka Connect sinks to DynamoDB, through the Connect REST API."""


def _selected(prefix: str, names: tuple[str, ...]) -> dict[str, dict[str, str]]:
    from connectors.desired import desired

    wanted = desired(get_settings(), prefix)
    unknown = [name for name in names if name not in wanted]
    if unknown:
        raise click.ClickException(f"unknown connector(s) {', '.join(unknown)}; known: {', '.join(wanted)}")
    return {name: config for name, config in wanted.items() if not names or name in names}


def _run(action: object) -> None:
    from connectors.rest import ConnectError

    try:
        action()  # type: ignore[operator]
    except ConnectError as error:
        raise click.ClickException(str(error)) from error


@connectors.command("apply")
@NAME_PREFIX
@click.argument("names", nargs=-1)
def apply(prefix: str, names: tuple[str, ...]) -> None:
    """PUT each connector's config (idempotent) and wait until it and its tasks run."""
    from connectors import rest

    url = get_settings().connect_url

    def run() -> None:
        for name, config in _selected(prefix, names).items():
            state = rest.apply_config(url, name, config)
            click.echo(f"{name}: {state['connector']['state']}, {len(state['tasks'])} task(s) running")

    _run(run)


@connectors.command("diff")
@NAME_PREFIX
@click.argument("names", nargs=-1)
def diff(prefix: str, names: tuple[str, ...]) -> None:
    """Desired config vs the running one (secrets masked); exit 1 when they differ."""
    from connectors import rest

    url = get_settings().connect_url
    differs = False

    def run() -> None:
        nonlocal differs
        for name, config in _selected(prefix, names).items():
            lines = rest.diff(config, rest.get_config(url, name))
            differs |= bool(lines)
            click.echo(f"{name}: {'differs' if lines else 'in sync'}")
            for line in lines:
                click.echo(f"  {line}")

    _run(run)
    if differs:
        raise SystemExit(1)


@connectors.command("status")
@NAME_PREFIX
@click.argument("names", nargs=-1)
def status(prefix: str, names: tuple[str, ...]) -> None:
    """State of each connector and task, with the stack trace of failed tasks; exit 1 unless all run."""
    from connectors import rest

    url = get_settings().connect_url
    healthy = True
    for name in _selected(prefix, names):
        try:
            state = rest.status(url, name)
        except rest.ConnectError as error:
            click.echo(f"{name}: {error}")
            healthy = False
            continue
        tasks = ", ".join(f"{task['id']}:{task['state']}" for task in state["tasks"])
        click.echo(f"{name}: {state['connector']['state']} [{tasks}]")
        healthy &= state["connector"]["state"] == "RUNNING" and all(t["state"] == "RUNNING" for t in state["tasks"])
        for part in [state["connector"], *state["tasks"]]:
            if part["state"] == "FAILED":
                click.echo(part.get("trace", "(no trace)"))
    if not healthy:
        raise SystemExit(1)


def _lifecycle(command: str, help_text: str) -> click.Command:
    @click.command(command, help=help_text)
    @NAME_PREFIX
    @click.argument("names", nargs=-1)
    def run_command(prefix: str, names: tuple[str, ...]) -> None:
        from connectors import rest

        url = get_settings().connect_url
        operation = getattr(rest, command)

        def run() -> None:
            for name in _selected(prefix, names):
                state = operation(url, name)
                click.echo(f"{name}: {state['connector']['state']}")

        _run(run)

    return run_command


connectors.add_command(_lifecycle("pause", "Pause connectors and wait until they are PAUSED."))
connectors.add_command(_lifecycle("resume", "Resume connectors and wait until they run."))
connectors.add_command(_lifecycle("restart", "Restart connectors and all their tasks; wait until they run."))
