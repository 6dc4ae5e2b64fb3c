"""Fleet liveness KPIs (the Sensors 360 questions), framework-free: computed from the liveness index."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from streams.liveness import DEAD, STATES, Live

SILENT_KPI_MS = 600_000  # "share of devices silent for more than 10 min"


class FleetKpis(NamedTuple):
    devices: int
    by_state: dict[str, int]
    silent_over_10m_share: float  # devices whose newest reading is > 10 min old (dead ones included)
    report_interval_mean_s: float  # over devices' learned cadences
    report_interval_median_s: float
    dead_devices: int
    lifespan_mean_s: float  # first seen -> last reading, over dead devices
    lifespan_median_s: float


def compute(devices: Iterable[Live], now: int | Mapping[int, int]) -> FleetKpis:
    """KPIs at one clock time, or at each device's partition clock (devices without one count as fresh)."""
    by_state = dict.fromkeys(STATES, 0)
    cadences, lifespans = [], []
    total = silent = 0
    for live in devices:
        total += 1
        by_state[STATES[live.state]] += 1
        now_ms = now if isinstance(now, int) else now.get(live.partition, live.last_seen)
        if now_ms - live.last_seen > SILENT_KPI_MS:
            silent += 1
        if live.cadence_ms > 0:
            cadences.append(live.cadence_ms / 1000)
        if live.state == DEAD:
            lifespans.append((live.last_seen - live.first_seen) / 1000)
    return FleetKpis(
        devices=total,
        by_state=by_state,
        silent_over_10m_share=silent / total if total else 0.0,
        report_interval_mean_s=statistics.fmean(cadences) if cadences else 0.0,
        report_interval_median_s=statistics.median(cadences) if cadences else 0.0,
        dead_devices=len(lifespans),
        lifespan_mean_s=statistics.fmean(lifespans) if lifespans else 0.0,
        lifespan_median_s=statistics.median(lifespans) if lifespans else 0.0,
    )
