"""The NAB scorer reproduces the published per-file scores of Numenta HTM from its per-row outputs."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from schemas.scores import ALERT_THRESHOLD
from streams.evaluation import nab, nab_run

ROOT = Path(__file__).resolve().parents[4] / "shared" / "data" / "nab"
pytestmark = pytest.mark.skipif(not (ROOT / "labels").exists(), reason="shared/data/nab is not beside the repo")


@pytest.fixture(scope="module")
def corpus() -> list[nab.Series]:
    return nab.load_corpus(ROOT)


@pytest.fixture(scope="module")
def numenta(corpus: list[nab.Series]) -> list[list[float]]:
    outputs = []
    for series in corpus:
        category, file = series.name.split("/")
        path = ROOT / "results" / "numenta" / category / f"numenta_{file}.gz"
        with gzip.open(path, "rt", newline="") as handle:
            outputs.append([float(row["anomaly_score"]) for row in csv.DictReader(handle)])
    return outputs


@pytest.mark.parametrize("profile", list(nab.PROFILES))
def test_every_published_file_score_of_numenta_is_reproduced(
    corpus: list[nab.Series], numenta: list[list[float]], profile: str
) -> None:
    threshold = json.loads((ROOT / "config" / "thresholds.json").read_text())["numenta"][profile]["threshold"]
    published = nab.published_file_scores(ROOT, "numenta", profile)
    assert len(corpus) >= 30
    for series, scores in zip(corpus, numenta, strict=True):
        result = nab.score_file(series, scores, threshold, profile)
        assert result.score == pytest.approx(published[series.name][1], abs=1e-8), series.name


def test_row_counts_match_the_published_example(corpus: list[nab.Series], numenta: list[list[float]]) -> None:
    index = [s.name for s in corpus].index("realKnownCause/machine_temperature_system_failure.csv")
    result = nab.score_file(corpus[index], numenta[index], 0.5421876907348634, "standard")
    assert (result.tp, result.tn, result.fp, result.fn) == (5, 19672, 5, 2263)
    assert result.score == pytest.approx(1.36013, abs=1e-5)


@pytest.mark.parametrize("profile", list(nab.PROFILES))
def test_null_detector_scores_0_and_perfect_detector_100(corpus: list[nab.Series], profile: str) -> None:
    windows = sum(len(s.windows) for s in corpus)
    null = [[0.0] * len(s.values) for s in corpus]
    perfect = [[1.0 if any(i == left for left, _ in s.windows) else 0.0 for i in range(len(s.values))] for s in corpus]
    _, null_raw = nab.sweep(corpus, null, profile)
    threshold, perfect_raw = nab.sweep(corpus, perfect, profile)
    assert nab.normalise(null_raw, windows, profile) == pytest.approx(0.0)
    assert nab.normalise(perfect_raw, windows, profile) == pytest.approx(100.0) and threshold == 1.0


def test_the_sweep_finds_a_threshold_at_least_as_good_as_the_published_one(
    corpus: list[nab.Series], numenta: list[list[float]]
) -> None:
    published = sum(
        nab.score_file(s, o, 0.5421876907348634, "standard").score for s, o in zip(corpus, numenta, strict=True)
    )
    threshold, raw = nab.sweep(corpus, numenta, "standard")
    assert raw >= published - 1e-9
    assert sum(
        nab.score_file(s, o, threshold, "standard").score for s, o in zip(corpus, numenta, strict=True)
    ) == pytest.approx(raw)


def test_sigmoid_values_from_the_specification() -> None:
    assert nab.sigmoid(-1) == pytest.approx(0.98661, abs=1e-5) and nab.sigmoid(0) == 0.0
    assert nab.sigmoid(3.5) == -1.0


def test_eval_nab_reports_the_shipped_threshold_beside_the_swept_one() -> None:
    results = nab_run.evaluate(ROOT, ("fleetpulse",), quick=True, progress=lambda _: None)
    for profile in nab.PROFILES:
        shipped = next(r for r in results if r.profile == profile and not r.oracle)
        swept = next(r for r in results if r.profile == profile and r.oracle)
        assert shipped.threshold == ALERT_THRESHOLD
        assert swept.raw >= shipped.raw  # the sweep is the best threshold on these files, by construction
    assert "shipped" in nab_run.table(results) and "swept (oracle)" in nab_run.table(results)
