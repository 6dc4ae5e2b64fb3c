"""`fleetpulse eval`: measure the failure model offline, with progress output."""

from __future__ import annotations

from pathlib import Path

import click

from streams.evaluation import nab_run

DEFAULT_NAB = Path(__file__).resolve().parents[3] / "shared" / "data" / "nab"


@click.group("eval")
def evaluate() -> None:
    """Offline evaluation of the failure model (NAB; the labelled simulator when available)."""


@evaluate.command("nab")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=DEFAULT_NAB)
@click.option("--quick", is_flag=True, help=f"Only {len(nab_run.QUICK_FILES)} files (for tests).")
@click.option("--detector", "detectors", multiple=True, type=click.Choice(list(nab_run.DETECTORS)))
def eval_nab(root: Path, quick: bool, detectors: tuple[str, ...]) -> None:
    """Run each detector causally over every NAB series; report standard / low-FP / low-FN scores
    with one exhaustively swept threshold per profile for all files."""
    results = nab_run.evaluate(root, detectors or tuple(nab_run.DETECTORS), quick=quick, progress=click.echo)
    click.echo(nab_run.table(results))
