"""Run detectors causally over NAB series (each a one-sensor device) and score them with our NAB scorer.

Settings were fixed before looking at NAB results (the model's defaults, the same as for devices);
one threshold per profile for all files, found by the exact sweep (the oracle NAB itself uses).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from river import anomaly, preprocessing

from streams.evaluation import nab
from streams.evaluation.harness import ServiceFleet
from streams.model.calibration import to_score
from streams.model.detector import ALERT_THRESHOLD

Detector = Callable[[nab.Series], list[float]]
DEVICE_TYPE = "nab_series"
BATCH_ROWS = 288  # a day of 5-minute rows per batch
QUICK_FILES = (
    "realKnownCause/machine_temperature_system_failure.csv",
    "realKnownCause/ambient_temperature_system_failure.csv",
    "realKnownCause/ec2_request_latency_system_failure.csv",
    "artificialWithAnomaly/art_daily_jumpsup.csv",
    "artificialNoAnomaly/art_daily_small_noise.csv",
)


def _epoch_ms(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp).replace(tzinfo=UTC).timestamp() * 1000)


def fleetpulse_model(series: nab.Series) -> list[float]:
    """The failure model through the production path: the series is one device of a one-sensor type,
    stored as envelope bytes between batches of `BATCH_ROWS` (no fleet prior: NAB's series are unrelated)."""
    fleet = ServiceFleet({DEVICE_TYPE: ("value",)})
    scores = []
    for i, (timestamp, value) in enumerate(zip(series.timestamps, series.values, strict=True)):
        scores.append(fleet.score(series.name, DEVICE_TYPE, _epoch_ms(timestamp), {"value": value}).score)
        if i % BATCH_ROWS == BATCH_ROWS - 1:
            fleet.end_batch()
    return scores


def static_threshold(series: nab.Series) -> list[float]:
    """The original approach: a fixed band, set once from the first (probation) rows and never updated;
    the swept threshold picks how wide the band is."""
    head = series.values[: max(2, series.probation)]
    mean = sum(head) / len(head)
    std = (sum((v - mean) ** 2 for v in head) / len(head)) ** 0.5 or 1e-9
    return [to_score(abs(v - mean) / std) for v in series.values]


def half_space_trees(series: nab.Series) -> list[float]:
    """River's HalfSpaceTrees with default parameters on the min-max scaled value, score then learn."""
    model = preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=42)
    scores = []
    for value in series.values:
        x = {"value": value}
        scores.append(model.score_one(x))
        model.learn_one(x)
    return scores


DETECTORS: dict[str, Detector] = {
    "fleetpulse": fleetpulse_model,
    "static_threshold": static_threshold,
    "river_hst_defaults": half_space_trees,
}
SHIPPED: dict[str, float] = {"fleetpulse": ALERT_THRESHOLD}  # detectors with an operating threshold of their own


@dataclass
class Result:
    detector: str
    profile: str
    threshold: float
    raw: float
    score: float  # normalised, all files
    known_cause: float  # normalised, realKnownCause only, at the same threshold
    seconds: float
    oracle: bool  # threshold swept on these files (NAB's way), else the detector's own shipped one


def evaluate(
    root: Path,
    detectors: Sequence[str] = tuple(DETECTORS),
    quick: bool = False,
    progress: Callable[[str], None] = print,
) -> list[Result]:
    corpus = nab.load_corpus(root, QUICK_FILES if quick else None)
    windows = sum(len(s.windows) for s in corpus)
    known = [i for i, s in enumerate(corpus) if s.name.startswith("realKnownCause/")]
    known_windows = sum(len(corpus[i].windows) for i in known)
    progress(f"NAB: {len(corpus)} files, {sum(len(s.values) for s in corpus):,} rows, {windows} windows")
    results = []
    for name in detectors:
        started = time.perf_counter()
        outputs = []
        for n, series in enumerate(corpus, 1):
            outputs.append(DETECTORS[name](series))
            progress(f"  {name}: {n}/{len(corpus)} {series.name}")
        seconds = time.perf_counter() - started
        for profile in nab.PROFILES:
            thresholds = [(nab.sweep(corpus, outputs, profile)[0], True)]
            if name in SHIPPED:
                thresholds.insert(0, (SHIPPED[name], False))
            for threshold, oracle in thresholds:
                raw = sum(nab.score_file(s, o, threshold, profile).score for s, o in zip(corpus, outputs, strict=True))
                subset = sum(nab.score_file(corpus[i], outputs[i], threshold, profile).score for i in known)
                known_cause = nab.normalise(subset, known_windows, profile) if known_windows else float("nan")
                normalised = nab.normalise(raw, windows, profile)
                results.append(Result(name, profile, threshold, raw, normalised, known_cause, seconds, oracle))
    return results


def published_on_subset(root: Path, corpus_names: Sequence[str], detector: str) -> dict[str, float]:
    """A published detector's per-file scores (at its published θ) summed over our files, normalised."""
    labels = nab.load_corpus(root, corpus_names)
    windows = sum(len(s.windows) for s in labels)
    out = {}
    for profile in nab.PROFILES:
        scores = nab.published_file_scores(root, detector, profile)
        raw = sum(scores[name][1] for name in corpus_names if name in scores)
        out[profile] = nab.normalise(raw, windows, profile)
    return out


PUBLISHED = ("ARTime", "numenta", "contextOSE", "knncad", "randomCutForest", "windowedGaussian")


def published_table(root: Path, quick: bool = False) -> str:
    """The published detectors on exactly these files (their own thresholds), beside our figures."""
    names = [s.name for s in nab.load_corpus(root, QUICK_FILES if quick else None)]
    lines = ["published on these files (per-file scores at each detector's own θ): standard / low-FP / low-FN"]
    for detector in PUBLISHED:
        if (root / "results" / detector).is_dir():
            scores = published_on_subset(root, names, detector)
            lines.append(f"  {detector:<20} " + " / ".join(f"{scores[p]:5.1f}" for p in nab.PROFILES))
    return "\n".join(lines)


def table(results: Sequence[Result]) -> str:
    lines = ["detector             threshold            profile              θ          NAB   realKnownCause  seconds"]
    for r in results:
        kind = "swept (oracle)" if r.oracle else "shipped"
        lines.append(
            f"{r.detector:<20} {kind:<20} {r.profile:<20} {r.threshold:7.4f} {r.score:6.1f} {r.known_cause:15.1f}"
            f" {r.seconds:8.1f}"
        )
    return "\n".join(lines)
