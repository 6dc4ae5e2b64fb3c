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
from streams.model.calibration import to_score
from streams.model.detector import DeviceModel

Detector = Callable[[nab.Series], list[float]]
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
    """Our device model with one generic sensor; warming-up rows score 0 (they cannot alert)."""
    model = DeviceModel(None, ("value",))
    scores = []
    for timestamp, value in zip(series.timestamps, series.values, strict=True):
        assessment = model.update(_epoch_ms(timestamp), {"value": value})
        scores.append(0.0 if assessment.warming_up else assessment.score)
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


@dataclass
class Result:
    detector: str
    profile: str
    threshold: float
    raw: float
    score: float  # normalised, all files
    known_cause: float  # normalised, realKnownCause only, at the same threshold
    seconds: float


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
            threshold, raw = nab.sweep(corpus, outputs, profile)
            subset = sum(nab.score_file(corpus[i], outputs[i], threshold, profile).score for i in known)
            results.append(
                Result(
                    name,
                    profile,
                    threshold,
                    raw,
                    nab.normalise(raw, windows, profile),
                    nab.normalise(subset, known_windows, profile) if known_windows else float("nan"),
                    seconds,
                )
            )
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


def table(results: Sequence[Result]) -> str:
    lines = ["detector             profile              threshold    NAB   realKnownCause  seconds"]
    for r in results:
        lines.append(
            f"{r.detector:<20} {r.profile:<20} {r.threshold:9.4f} {r.score:6.1f} {r.known_cause:15.1f} {r.seconds:8.1f}"
        )
    return "\n".join(lines)
