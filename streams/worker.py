"""The stream worker: the Faust app with every construct registered, one module each (as faust-streaming's
examples do): the readings agent, the events agent, the liveness, stall-watch and fleet-prior timers, the
device status views, and the metrics endpoint. `fleetpulse worker` runs it."""

from __future__ import annotations

import gc

from prometheus_client import start_http_server

from streams import events_agent, liveness_timer, priors_timer, readings_agent, stall_timer, views
from streams.app import app, settings

CONSTRUCTS = (readings_agent, events_agent, liveness_timer, stall_timer, priors_timer, views)  # imported to register

# The cyclic garbage collector, tuned for a process that allocates a few dozen objects per reading and holds
# many long-lived ones (device models, states): with CPython's default first threshold (700 allocations) it
# ran every few readings and its full passes walked every held model (60-155 ms each, measured). Everything
# imported so far is frozen out of its passes. Processor alone, 2,000 devices, CPU per reading: baseline
# 121-129 -> 101-110 us, model 346-364 -> 304-314 us (this machine loaded, alternated runs).
GC_THRESHOLDS = (50_000, 20, 100)
gc.collect()
gc.freeze()
gc.set_threshold(*GC_THRESHOLDS)


@app.task
async def serve_metrics() -> None:
    start_http_server(settings.worker_metrics_port, addr=settings.bind_host)
