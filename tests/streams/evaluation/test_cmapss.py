"""The C-MAPSS evaluation: the loader, the hit / early-alarm / lead metrics on hand-made scores, and the
`fleetpulse eval cmapss` command on a small fleet written here (the real split is scored the same way)."""

from __future__ import annotations

import random
from pathlib import Path

from click.testing import CliRunner

from streams.evaluation import cmapss, cmapss_run
from streams.evaluation.commands import evaluate


def write_split(root: Path, engines: int = 6, cycles: int = 150) -> list[int]:
    """A fleet whose odd engines wear out (sensors drift over the last 80 cycles) and end 10 cycles before
    failure; even ones stay healthy and end 140 cycles before it. Returns the RULs."""
    rng, lines, ruls = random.Random(1), [], []
    for unit in range(1, engines + 1):
        wearing = unit % 2 == 1
        for cycle in range(1, cycles + 1):
            wear = max(0, cycle - (cycles - 80)) / 20 if wearing else 0.0
            sensors = [500 + 10 * s + rng.gauss(0, 1) + wear * (1 if s % 2 else -1) for s in range(21)]
            lines.append(" ".join(str(x) for x in [unit, cycle, 0.0, 0.0, 100.0, *[f"{v:.4f}" for v in sensors]]))
        ruls.append(10 if wearing else 140)
    (root / "test_FD001.txt").write_text("\n".join(lines) + "\n")
    (root / "RUL_FD001.txt").write_text("\n".join(str(r) for r in ruls) + "\n")
    return ruls


def test_the_loader_keeps_the_14_informative_sensors_and_the_ruls(tmp_path: Path) -> None:
    ruls = write_split(tmp_path)
    engines = cmapss.load(tmp_path)
    assert [e.rul for e in engines] == ruls and len(engines[0].readings[0]) == 14 == len(cmapss.SENSORS)
    assert engines[0].cycles[:3] == [1, 2, 3] and len(engines[0].readings) == 150


def test_hits_early_alarms_and_lead_follow_the_definitions(tmp_path: Path) -> None:
    write_split(tmp_path)
    engines = cmapss.load(tmp_path)[:4]  # ruls 10, 140, 10, 140
    scores = [[0.0] * 150 for _ in engines]
    scores[0][100] = 0.9  # at risk, alerted 49 cycles before its last record: lead 10 + 49
    scores[1][20] = 0.9  # healthy throughout: an early alarm
    outcome = cmapss.outcome(engines, scores, 0.7)
    assert (outcome.at_risk, outcome.hits, outcome.healthy, outcome.early_alarms) == (2, 1, 2, 1)
    assert outcome.leads == [59]
    # engine 0's alert came with 10 + 49 cycles left, engine 1's with 140 + 129: one early first alert of two
    assert (outcome.alerted, outcome.early_first) == (2, 1)
    assert cmapss.outcome(engines, scores, 0.95).hits == 0  # below the threshold: no alert


def test_eval_cmapss_through_the_service_alerts_on_the_wearing_engines_only(tmp_path: Path) -> None:
    write_split(tmp_path)
    report = cmapss_run.evaluate(tmp_path, progress=lambda _: None)
    assert report.model.hits == report.model.at_risk == 3  # every wearing engine alerted before its end
    assert report.model.early_alarms == 0  # and no healthy one
    result = CliRunner().invoke(evaluate, ["cmapss", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "fleetpulse (shipped threshold)" in result.output and "static band" in result.output
