"""The query API's reading of policy-written rows, without servers."""

from __future__ import annotations

from api.store import FleetStore, reading_from_window
from core.settings import Settings

NOW = 1_795_000_000_000


def test_a_policy_row_takes_the_workers_verdict_and_allows_for_its_heartbeat() -> None:
    store = FleetStore(Settings(storage_heartbeat_seconds=300, worker_silent_seconds=600, worker_dead_seconds=3600))
    old_row = {"device_id": "d", "ts": NOW - 700_000}
    assert store.row_liveness(old_row, NOW) == "silent"  # a row without a verdict: derived from its age
    # the worker stored on_time 11.7 min ago; with a 5 min heartbeat that is only 6.7 min without a reading
    assert store.row_liveness(old_row | {"liveness": "on_time"}, NOW) == "on_time"
    assert store.row_liveness({"device_id": "d", "ts": NOW - 1000, "liveness": "silent"}, NOW) == "silent"
    stale = {"device_id": "d", "ts": NOW - 1_000_000, "liveness": "on_time"}  # no heartbeat for 16 min
    assert store.row_liveness(stale, NOW) == "silent"  # a stopped worker still shows as silence


def test_a_window_row_reads_like_a_reading_with_its_statistics() -> None:
    row = {"device_id": "d", "ts": 60_000, "end": 120_000, "device_type": "pc",
           "stats": {"load_pct": {"n": 11, "mean": 30.5, "max": 40}, "fan_cfm": {"n": 12, "mean": 20}}}  # fmt: skip
    reading = reading_from_window(row)
    assert (reading["load_pct"], reading["fan_cfm"], reading["count"], reading["window_end"]) == (30.5, 20, 12, 120_000)
    assert reading["stats"] == row["stats"]
