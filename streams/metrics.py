"""The worker's Prometheus metrics (base units, _total counters, _seconds histograms)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

records_in = Counter("fleetpulse_worker_records_in", "Records consumed by the worker.", ["topic"])
records_out = Counter("fleetpulse_worker_records_out", "Records produced by the worker.", ["topic"])
dead_letters = Counter("fleetpulse_worker_dead_letters", "Records rejected to the dead-letter topic.", ["reason"])
processing_seconds = Histogram(
    "fleetpulse_worker_processing_seconds",
    "Time to validate and score one reading.",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
event_lag_seconds = Histogram(
    "fleetpulse_worker_event_lag_seconds",
    "Wall-clock time minus the reading's event time when the worker scores it.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
