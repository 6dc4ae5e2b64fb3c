"""Alert episodes and per-mode metrics against the simulator's ground truth; pure functions, no model.

An alert is a rising edge: the first reading with score >= θ while the device is armed. The device
is then disarmed until its score has stayed below θ for `rearm_ms` of event time (debounce), so a
score hovering around θ is one alert, not dozens. An alert is a true positive when it falls in
[onset, failure] of one of that device's labelled failures, else a false alert. A failure is detected
when at least one alert falls in its window; lead = failure_ts - the first such alert.
Failures still in progress when the replay ends (no label yet) are censored: neither their window's
alerts nor the failure itself count.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

REARM_MS = 10 * 60_000


@dataclass(frozen=True)
class Failure:
    device: str
    mode: str
    onset_ts: int
    failure_ts: int
    detectable: bool = True


@dataclass
class ModeMetrics:
    mode: str
    detectable: bool
    failures: int
    detected: int
    true_alerts: int
    false_alerts: int
    device_hours: float
    leads_s: list[float]

    @property
    def recall(self) -> float:
        return self.detected / self.failures if self.failures else float("nan")

    @property
    def precision(self) -> float:
        alerts = self.true_alerts + self.false_alerts
        return self.true_alerts / alerts if alerts else float("nan")

    @property
    def median_lead_min(self) -> float:
        return statistics.median(self.leads_s) / 60 if self.leads_s else float("nan")

    @property
    def false_per_1000h(self) -> float:
        return 1000 * self.false_alerts / self.device_hours if self.device_hours else float("nan")


def alert_times(series: Iterable[tuple[int, float]], threshold: float, rearm_ms: int = REARM_MS) -> list[int]:
    """Rising edges of score >= threshold in one device's (ts, score) series, debounced."""
    alerts: list[int] = []
    armed = True
    below_since: int | None = None
    for ts, score in series:
        if score >= threshold:
            below_since = None
            if armed:
                alerts.append(ts)
                armed = False
        elif not armed:
            below_since = ts if below_since is None else below_since
            if ts - below_since >= rearm_ms:
                armed = True
    return alerts


def classify(
    alerts: dict[str, list[int]], failures: Sequence[Failure], censored: dict[str, int]
) -> tuple[dict[Failure, list[int]], int]:
    """Alerts inside each failure's window, and the number of false alerts. `censored[device]` is the
    onset of a failure unfinished at the end; that device's alerts from then on are not judged."""
    by_device: dict[str, list[Failure]] = {}
    for f in failures:
        by_device.setdefault(f.device, []).append(f)
    hits: dict[Failure, list[int]] = {f: [] for f in failures}
    false = 0
    for device, times in alerts.items():
        for ts in times:
            if device in censored and ts >= censored[device]:
                continue
            window = next((f for f in by_device.get(device, ()) if f.onset_ts <= ts <= f.failure_ts), None)
            if window is None:
                false += 1
            else:
                hits[window].append(ts)
    return hits, false


def mode_metrics(
    mode: str, failures: Sequence[Failure], hits: dict[Failure, list[int]], false_alerts: int, device_hours: float
) -> ModeMetrics:
    own = [f for f in failures if f.mode == mode]
    detected = [f for f in own if hits[f]]
    return ModeMetrics(
        mode=mode,
        detectable=all(f.detectable for f in own) if own else True,
        failures=len(own),
        detected=len(detected),
        true_alerts=sum(len(hits[f]) for f in own),
        false_alerts=false_alerts,
        device_hours=device_hours,
        leads_s=[(f.failure_ts - min(hits[f])) / 1000 for f in detected],
    )
