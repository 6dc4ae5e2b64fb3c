"""The stream worker: the Faust app with every construct registered, one module each (as faust-streaming's
examples do): the readings agent, the events agent, the liveness, stall-watch and fleet-prior timers, the
device status views, and the metrics endpoint. `fleetpulse worker` runs it."""

from __future__ import annotations

from prometheus_client import start_http_server

from streams import events_agent, liveness_timer, priors_timer, readings_agent, stall_timer, views
from streams.app import app, settings

CONSTRUCTS = (readings_agent, events_agent, liveness_timer, stall_timer, priors_timer, views)  # imported to register


@app.task
async def serve_metrics() -> None:
    start_http_server(settings.worker_metrics_port, addr=settings.bind_host)
