"""`fleetpulse eval`: measure the failure model offline, with progress output."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from streams.evaluation import cmapss_run, everyday, nab_run, sim_run

DEFAULT_NAB = Path(__file__).resolve().parents[3] / "shared" / "data" / "nab"
DEFAULT_CMAPSS = Path(__file__).resolve().parents[3] / "shared" / "data" / "cmapss"


@click.group("eval")
def evaluate() -> None:
    """Offline evaluation of the failure model (NAB, C-MAPSS turbofans, the labelled simulator and healthy
    devices in everyday use)."""


@evaluate.command("cmapss")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=DEFAULT_CMAPSS)
def eval_cmapss(root: Path) -> None:
    """Score the C-MAPSS FD001 test engines through the production path; report hits, early alarms and
    lead cycles at the shipped threshold, beside a static band fitted on each engine's first 30 cycles."""
    click.echo(cmapss_run.table(cmapss_run.evaluate(root, progress=click.echo)))


@evaluate.command("nab")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=DEFAULT_NAB)
@click.option("--quick", is_flag=True, help=f"Only {len(nab_run.QUICK_FILES)} files (for tests).")
@click.option("--detector", "detectors", multiple=True, type=click.Choice(list(nab_run.DETECTORS)))
def eval_nab(root: Path, quick: bool, detectors: tuple[str, ...]) -> None:
    """Run each detector causally over every NAB series; report standard / low-FP / low-FN scores
    with one exhaustively swept threshold per profile for all files."""
    results = nab_run.evaluate(root, detectors or tuple(nab_run.DETECTORS), quick=quick, progress=click.echo)
    click.echo(nab_run.table(results))
    click.echo(nab_run.published_table(root, quick))


@evaluate.command("sim")
@click.option("--quick", is_flag=True, help="A small fleet for a few hours (for tests; < 30 s).")
@click.option("--seed", type=int, default=sim_run.EVAL_SEED, show_default=True)
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=sim_run.OPERATING_THRESHOLD, show_default=True)
@click.option("--scorer", "scorers", multiple=True, type=click.Choice(list(sim_run.SCORERS)))
@click.option("--mode", "modes", multiple=True, help="Only these failure modes (default: all).")
@click.option(
    "--cadence",
    type=click.FloatRange(0.1, 3600.0),
    default=sim_run.CADENCE_MS / 1000,
    show_default=True,
    help="Seconds between a device's readings (the model's constants were chosen at 5).",
)
def eval_sim(
    quick: bool, seed: int, threshold: float, scorers: tuple[str, ...], modes: tuple[str, ...], cadence: float
) -> None:
    """Replay a seeded simulated fleet in-process per failure mode, feed the delayed failure labels back,
    and report recall, precision, median lead time and false alerts per 1,000 device-hours."""
    plan = dataclasses.replace(sim_run.Plan.quick() if quick else sim_run.Plan(), cadence_ms=round(cadence * 1000))
    known = [m.name for m in sim_run.MODES]
    unknown = sorted(set(modes) - set(known))
    if unknown:
        raise click.BadParameter(f"unknown mode(s) {unknown}; known: {known}", param_hint="--mode")
    click.echo(f"simulator: {plan.devices} devices x {plan.hours:g} h at {cadence:g} s per mode, seed {seed}")
    runs = sim_run.evaluate(scorers or tuple(sim_run.SCORERS), plan, seed, modes or tuple(known), click.echo)
    for name, replays in runs.items():
        click.echo(sim_run.table(name, replays, threshold))
        click.echo(sim_run.sweep(replays, sim_run.SWEEP))
    click.echo(sim_run.TARGETS)


@evaluate.command("everyday")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--devices", type=click.IntRange(1, 100), default=2, show_default=True)
@click.option("--days", type=click.FloatRange(0.1, 30.0), default=3.0, show_default=True)
@click.option("--scenario", "scenarios", multiple=True, type=click.Choice(list(everyday.SCENARIOS)))
def eval_everyday(seed: int, devices: int, days: float, scenarios: tuple[str, ...]) -> None:
    """Healthy devices in everyday use the simulator does not produce (a desktop busy in bursts, a phone's
    battery voltage through its charge cycle): nothing fails, so every alert onset is a false one."""
    results = [everyday.run(name, devices, days, seed) for name in scenarios or tuple(everyday.SCENARIOS)]
    click.echo(everyday.table(results))
