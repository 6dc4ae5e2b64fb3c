"""A NAB scorer (Numenta Anomaly Benchmark), written from the specification in shared/data/nab/SCORING.md.

Windows with a scaled-sigmoid reward for early detection, one false-positive charge per detected row
outside windows (discounted just after a window), probation rows ignored, three application
profiles, one threshold per profile for the whole corpus found by an exact sort-and-sweep, and
normalisation between the null detector (0) and the perfect one (100).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROFILES: dict[str, tuple[float, float, float]] = {  # A_TP, A_FP, A_FN
    "standard": (1.0, 0.11, 1.0),
    "reward_low_FP_rate": (1.0, 0.22, 1.0),
    "reward_low_FN_rate": (1.0, 0.11, 2.0),
}


def sigmoid(x: float) -> float:
    """NAB's scaled sigmoid: +1 far left, 0 at 0, -1 at and beyond 3."""
    if x > 3:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


@dataclass
class Series:
    """One NAB file: its rows' timestamps and values, its windows as inclusive row ranges."""

    name: str  # "category/file.csv"
    timestamps: list[str]
    values: list[float]
    windows: list[tuple[int, int]] = field(default_factory=list)

    @property
    def probation(self) -> int:
        return min(math.floor(0.15 * len(self.timestamps)), 750)


def load_corpus(root: Path, names: Iterable[str] | None = None) -> list[Series]:
    """Every data file under root/data that has an entry in the window labels (or just `names`)."""
    labels = json.loads((root / "labels" / "combined_windows.json").read_text())
    wanted = sorted(names) if names is not None else sorted(labels)
    corpus = []
    for name in wanted:
        path = root / "data" / name
        if not path.exists():
            continue
        series = read_series(path, name)
        series.windows = window_rows(series.timestamps, labels.get(name, []))
        corpus.append(series)
    return corpus


def read_series(path: Path, name: str) -> Series:
    timestamps, values = [], []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            timestamps.append(row["timestamp"])
            values.append(float(row["value"]))
    return Series(name, timestamps, values)


def window_rows(timestamps: Sequence[str], windows: Sequence[Sequence[str]]) -> list[tuple[int, int]]:
    index = {ts: i for i, ts in enumerate(timestamps)}
    rows = []
    for start, end in windows:
        try:
            rows.append((index[start.split(".")[0]], index[end.split(".")[0]]))
        except KeyError as error:
            raise ValueError(f"window bound {error} is not a row timestamp") from error
    return rows


def row_weights(series: Series, profile: str) -> tuple[list[float], list[int]]:
    """What a detection at each row is worth, and its window index (-1 outside every window)."""
    a_tp, a_fp, _ = PROFILES[profile]
    n = len(series.timestamps)
    weights = [-a_fp] * n
    window_of = [-1] * n
    for k, (left, right) in enumerate(series.windows):
        width = right - left + 1
        for i in range(left, right + 1):
            weights[i] = a_tp * sigmoid(-(right - i + 1) / width) / sigmoid(-1.0)
            window_of[i] = k
    closed: tuple[int, int] | None = None  # (right, width) of the latest window that has closed
    next_window = 0
    for i in range(n):
        while next_window < len(series.windows) and series.windows[next_window][1] < i:
            left, right = series.windows[next_window]
            closed = (right, right - left + 1)
            next_window += 1
        if window_of[i] == -1 and closed is not None:
            right, width = closed
            weights[i] = a_fp * sigmoid((i - right) / max(width - 1, 1))
    return weights, window_of


@dataclass
class FileScore:
    name: str
    score: float
    tp: int
    fp: int
    fn: int
    tn: int


def score_file(series: Series, scores: Sequence[float], threshold: float, profile: str) -> FileScore:
    _, _, a_fn = PROFILES[profile]
    weights, window_of = row_weights(series, profile)
    best = [None] * len(series.windows)  # type: list[float | None]
    total = 0.0
    tp = fp = fn = tn = 0
    for i in range(series.probation, len(scores)):
        detected = scores[i] >= threshold
        k = window_of[i]
        if k >= 0:
            tp += detected
            fn += not detected
            if detected:
                best[k] = weights[i] if best[k] is None else max(best[k], weights[i])  # type: ignore[type-var]
        else:
            fp += detected
            tn += not detected
            if detected:
                total += weights[i]
    total += sum(-a_fn if b is None else b for b in best)
    return FileScore(series.name, total, tp, fp, fn, tn)


def sweep(corpus: Sequence[Series], scores: Sequence[Sequence[float]], profile: str) -> tuple[float, float]:
    """The exact best (threshold, raw corpus score): every distinct score value tried, highest θ on ties."""
    _, _, a_fn = PROFILES[profile]
    rows: list[tuple[float, float, int]] = []  # (score, weight, global window id or -1)
    n_windows = 0
    for series, file_scores in zip(corpus, scores, strict=True):
        weights, window_of = row_weights(series, profile)
        for i in range(series.probation, len(file_scores)):
            k = window_of[i]
            rows.append((file_scores[i], weights[i], n_windows + k if k >= 0 else -1))
        n_windows += len(series.windows)
    rows.sort(key=lambda row: row[0], reverse=True)
    current = -a_fn * n_windows
    best_score, best_threshold = current, 1.1
    window_best: dict[int, float] = {}
    i = 0
    while i < len(rows):
        value = rows[i][0]
        while i < len(rows) and rows[i][0] == value:
            _, weight, window = rows[i]
            if window < 0:
                current += weight
            else:
                previous = window_best.get(window, -a_fn)
                if weight > previous:
                    current += weight - previous
                    window_best[window] = weight
            i += 1
        if current > best_score:  # strictly: on ties the higher θ (seen first) is kept
            best_score, best_threshold = current, value
    return best_threshold, best_score


def normalise(raw: float, n_windows: int, profile: str) -> float:
    a_tp, _, a_fn = PROFILES[profile]
    null, perfect = -a_fn * n_windows, a_tp * n_windows
    return 100.0 * (raw - null) / (perfect - null)


def published_file_scores(root: Path, detector: str, profile: str) -> dict[str, tuple[float, float]]:
    """{file: (threshold, score)} from results/<detector>/<detector>_<profile>_scores.csv."""
    path = root / "results" / detector / f"{detector}_{profile}_scores.csv"
    out = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["File"] and row["File"] != "Totals" and row["Score"]:
                out[row["File"]] = (float(row["Threshold"]), float(row["Score"]))
    return out
