"""One view of liveness: the query API's derived state is the worker's, at every age (unit, no servers)."""

from __future__ import annotations

import pytest

from api.store import FleetStore
from core.settings import Settings
from streams.liveness import STATES, Live, LivenessConfig, sweep

NOW = 1_795_000_000_000
SETTINGS = Settings(worker_silent_seconds=600, worker_dead_seconds=3600)


@pytest.mark.parametrize("age_ms", [0, 599_999, 600_000, 600_001, 3_599_999, 3_600_000, 3_600_001, 10**9])
def test_the_api_and_the_worker_agree_on_every_age(age_ms: int) -> None:
    live = Live(0, NOW - age_ms, NOW - age_ms)  # no learned cadence: the API has none either
    changes = sweep({"d": live}, NOW, LivenessConfig.of(SETTINGS))
    worker = STATES[changes[0].state] if changes else "on_time"
    assert FleetStore(SETTINGS).liveness(NOW - age_ms, NOW) == worker
