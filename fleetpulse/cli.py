"""The `fleetpulse` command: one entry point, a subcommand per job."""

from __future__ import annotations

import logging
import sys

import click
from pydantic import ValidationError

from core.settings import ConfigError, get_settings, settings_problems

CONFIG_EXIT = 2  # like click's usage errors: the invocation or its configuration is wrong


class _Main(click.Group):
    """Configuration mistakes end any subcommand with one line per problem and exit 2, no traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            _config_exit([str(error)])
        except ValidationError as error:
            if error.title != "Settings":
                raise
            _config_exit(settings_problems(error))
        return None


def _config_exit(lines: list[str]) -> None:
    for line in lines:
        click.echo(f"configuration error: {line}", err=True)
    sys.exit(CONFIG_EXIT)


@click.group(cls=_Main)
def main() -> None:
    """FleetPulse: watch a fleet of devices and predict their failures."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


# --- the local stack ---------------------------------------------------------------------------


@main.group()
def stack() -> None:
    """The local stack: Kafka (KRaft), Connect, dynoxide (DynamoDB API), Prometheus, Alertmanager."""


@stack.command("up")
def stack_up() -> None:
    """Install what is missing and start every server; wait until each is healthy."""
    from fleetpulse.stack import manager

    try:
        manager.up(get_settings())
    except manager.StackError as error:
        raise click.ClickException(str(error)) from error


@stack.command("down")
def stack_down() -> None:
    """Stop exactly the processes the stack (and `demo`) started, by pid."""
    from fleetpulse.stack import manager

    manager.down(get_settings())


@stack.command("status")
def stack_status() -> None:
    """Each server with its URL and health; exit 1 unless all are healthy."""
    from fleetpulse.stack import manager

    if not manager.status(get_settings()):
        sys.exit(1)


@stack.command("logs")
@click.argument("name")
@click.option("-n", "--lines", default=50, show_default=True)
def stack_logs(name: str, lines: int) -> None:
    """The last lines of one process's log (kafka, connect, dynamodb, prometheus, worker, simulator)."""
    from fleetpulse.stack import manager

    click.echo(manager.logs(get_settings(), name, lines))


# --- setup: topics, tables, connectors ---------------------------------------------------------


@main.command("topics")
def topics() -> None:
    """Create the project's topics (idempotent)."""
    from core.kafka.config import require_kafka
    from core.topics import create_topics

    require_kafka(get_settings())
    created = create_topics(get_settings())
    click.echo(f"created: {', '.join(created) or 'none (all exist)'}")


@main.command("query")
@click.argument("device_id")
@click.option("--table", type=click.Choice(["scores", "readings"]), default="scores", show_default=True)
@click.option("--limit", default=5, show_default=True)
def query(device_id: str, table: str, limit: int) -> None:
    """The newest items of one device in DynamoDB (a key Query, not a Scan)."""
    from connectors.tables import latest_items

    settings = get_settings()
    name = settings.table_scores if table == "scores" else settings.table_readings
    for item in latest_items(settings, name, device_id, limit):
        click.echo(item)


# --- the pipeline's processes ------------------------------------------------------------------


@main.command("worker", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the Faust stream worker (extra arguments go to `faust worker`)."""
    from core.kafka.config import require_kafka

    require_kafka(get_settings())
    import streams.worker  # noqa: F401  (registers the agents, timers and views)
    from streams.app import app

    sys.argv = ["fleetpulse-worker", "worker", "--loglevel", "info", *ctx.args]
    app.main()


# --- schemas and settings ----------------------------------------------------------------------


@main.command("schemas")
def schemas_export() -> None:
    """Regenerate schemas/json/ from the schema classes."""
    from schemas.export import export

    for path in export():
        click.echo(f"wrote {path}")


@main.command("settings")
@click.option("--markdown", is_flag=True, help="The README's configuration table.")
@click.option("--write-readme", is_flag=True, help="Rewrite the table in README.md.")
def settings_show(markdown: bool, write_readme: bool) -> None:
    """Show the effective settings (secrets masked), or the table of every variable."""
    from fleetpulse.settings_doc import markdown_table
    from fleetpulse.settings_doc import write_readme as write

    if write_readme:
        write()
        return
    if markdown:
        click.echo(markdown_table(), nl=False)
        return
    for name, value in get_settings().model_dump().items():
        click.echo(f"FLEETPULSE_{name.upper()}={value}")


@main.command("demo")
@click.option("--real-time", is_flag=True, help="Event time at the wall clock's pace (default 60x).")
def demo(real_time: bool) -> None:
    """The main job: the local stack, tables, connectors, the worker and a simulated fleet."""
    from fleetpulse import demo as demo_module

    try:
        demo_module.run(get_settings(), speedup=1.0 if real_time else demo_module.DEMO_SPEEDUP)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from error


def _register_domain_commands() -> None:
    """Each stage keeps its commands in its own module; they are registered here."""
    from api.commands import api
    from bot.commands import bot
    from connectors.commands import connectors, tables
    from grafana.commands import grafana, watch
    from producers.commands import agent, ingest, simulate
    from streams.evaluation.commands import evaluate
    from streams.snapshots.commands import model

    main.add_command(simulate)
    main.add_command(agent)
    main.add_command(ingest)
    main.add_command(evaluate)
    main.add_command(tables)
    main.add_command(connectors)
    main.add_command(api)
    main.add_command(bot)
    main.add_command(grafana)
    main.add_command(watch)
    main.add_command(model)


_register_domain_commands()
