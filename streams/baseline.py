"""The baseline failure score: how far each sensor has moved from its warning toward its critical level.

score = max over sensors of clamp((value - warn) / (critical - warn), 0, 1), with the limits per device
type from schemas/units.py. A stateless, explainable rule to have scores end to end; the River model
replaces it.
"""

from __future__ import annotations

import time

from schemas import Reading, Reason, Score
from schemas.units import LIMITS

MODEL = "baseline-limits-v1"


def contributions(reading: Reading) -> list[Reason]:
    reasons = []
    for sensor, (warn, critical) in LIMITS[reading.device_type].items():
        value = getattr(reading, sensor)
        if value is None:
            continue
        share = min(1.0, max(0.0, (value - warn) / (critical - warn)))
        if share > 0:
            detail = f"{sensor}={value:g} is {share:.0%} of the way from warning {warn:g} to critical {critical:g}"
            reasons.append(Reason(sensor=sensor, value=value, contribution=round(share, 4), detail=detail))
    return sorted(reasons, key=lambda reason: reason.contribution, reverse=True)


def score(reading: Reading, now_ms: int | None = None) -> Score:
    reasons = contributions(reading)
    return Score(
        device_id=reading.device_id,
        ts=reading.ts,
        seq=reading.seq,
        score=reasons[0].contribution if reasons else 0.0,
        model=MODEL,
        reasons=reasons[:3],
        scored_at=now_ms if now_ms is not None else int(time.time() * 1000),
    )
