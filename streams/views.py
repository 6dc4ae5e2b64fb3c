"""Device status over HTTP, from the worker's tables. A request is routed to the worker that owns the
device's partition (@app.table_route), so any worker answers for any device.

Routing hashes the key like the Java client (murmur2); producers must partition readings the same way
(librdkafka `partitioner=murmur2_random`) for the route to find the right worker.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from faust.web import Request, Response, View

from streams import kpis
from streams.app import app, devices
from streams.device_store import load_state
from streams.liveness import STATES
from streams.model import service
from streams.pipeline import processor
from streams.processor import windows_from_state
from streams.state import DeviceState, decode_state
from streams.windows import SENSOR_NAMES


def device_status(device_id: str, state: DeviceState, now_ms: int) -> dict[str, Any]:
    windows = windows_from_state(state)
    last_5m = {}
    for index, sensor in enumerate(SENSOR_NAMES):
        stats = windows.current(index)
        if stats is not None:
            last_5m[sensor] = stats._asdict()
    return {
        "device_id": device_id,
        "device_type": state.device_type,
        "partition": state.partition,
        "readings": state.readings,
        "late_readings": state.late,
        "stats_last_5m": last_5m,
        "liveness": {
            "state": STATES[state.liveness],
            "since_ts": state.liveness_since,
            "first_seen_ts": state.first_seen,
            "last_seen_ts": state.last_seen,
            "expected_interval_s": state.cadence_ms / 1000,
            "age_s": (now_ms - state.last_seen) / 1000 if now_ms >= 0 else None,
        },
        "score": None if state.score < 0 else {"score": state.score, "ts": state.score_ts, "model": state.model},
        "model": _model_status(state),
    }


def _model_status(state: DeviceState) -> dict[str, Any] | None:
    model = service.load(state.model_state, state.model_pending) if state.model_state else None
    if model is None:
        return None
    return {
        "seen": model.seen,  # readings ever learned: continues across restarts, never counts a replay twice
        "warming_up": model.warming_up,
        "labelled_episodes": model.supervised.episodes,
        "drift_events": model.drift.events,
    }


@app.page("/devices/{device_id}/")
class DeviceStatus(View):
    async def get(self, request: Request, device_id: str) -> Response:
        try:
            return await self._routed(request, device_id=device_id)
        except aiohttp.ClientError as error:  # the owner is gone; a rebalance will move its partitions
            return self.json({"error": f"owner of {device_id!r} unreachable: {error}"}, status=503)

    @app.table_route(table=devices, match_info="device_id")
    async def _routed(self, request: Request, device_id: str) -> Response:
        raw = load_state(device_id)
        if raw is None:
            return self.json({"error": f"unknown device {device_id!r}"}, status=404)
        state = decode_state(raw)
        return self.json(device_status(device_id, state, processor.clocks.now_ms(state.partition)))


@app.page("/fleet/kpis/")
class FleetKpis(View):
    async def get(self, request: Request) -> Response:
        result = kpis.compute(processor.live.values(), processor.clocks.now())
        return self.json({"scope": "devices owned by this worker", **result._asdict()})
