"""The simulator's HTTP control API: list devices and their states, start/stop a device, inject a
failure mode now. Runs on its own thread and event loop inside the `simulate` process; every change is
made under the fleet's lock, so it lands between two rounds.

OpenAPI: `GET /openapi.json`; `GET /docs` renders it as plain HTML, with no CDN assets (works offline).
"""

from __future__ import annotations

import asyncio
import html
import threading
from typing import Any

from aiohttp import web

from producers.failure_modes import MODE_INDEX, MODES
from producers.fleet import PHASES, Fleet
from schemas import DEVICE_TYPES

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "FleetPulse simulator control API", "version": "1"},
    "paths": {
        "/devices": {
            "get": {
                "summary": "List devices with their state (filter by phase, device_type, mode; paginate).",
                "parameters": [
                    {"name": "phase", "in": "query", "schema": {"enum": list(PHASES)}},
                    {"name": "device_type", "in": "query", "schema": {"enum": list(DEVICE_TYPES)}},
                    {"name": "mode", "in": "query", "schema": {"enum": list(MODE_INDEX)}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                ],
                "responses": {"200": {"description": "{total, devices: [...]}"}},
            }
        },
        "/devices/{device_id}": {
            "get": {"summary": "One device's state.", "responses": {"200": {}, "404": {}}},
        },
        "/devices/{device_id}/start": {
            "post": {"summary": "Start reporting (emits a lifecycle event).", "responses": {"200": {}, "404": {}}}
        },
        "/devices/{device_id}/stop": {
            "post": {"summary": "Stop reporting (emits a lifecycle event).", "responses": {"200": {}, "404": {}}}
        },
        "/devices/{device_id}/inject": {
            "post": {
                "summary": "Start a failure mode on the device now; its label follows when it fails.",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["mode"],
                                "properties": {"mode": {"enum": list(MODE_INDEX)}},
                            }
                        }
                    }
                },
                "responses": {"200": {}, "400": {}, "404": {}},
            }
        },
        "/modes": {"get": {"summary": "Failure modes, their durations and detectability.", "responses": {"200": {}}}},
    },
}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class ControlApi:
    def __init__(self, fleet: Fleet, host: str, port: int) -> None:
        self.fleet, self.host, self.port = fleet, host, port
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="control-api", daemon=True)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_get("/devices", self.list_devices)
        app.router.add_get("/devices/{device_id}", self.get_device)
        app.router.add_post("/devices/{device_id}/start", self.start_device)
        app.router.add_post("/devices/{device_id}/stop", self.stop_device)
        app.router.add_post("/devices/{device_id}/inject", self.inject)
        app.router.add_get("/modes", self.modes)
        app.router.add_get("/openapi.json", lambda _: web.json_response(OPENAPI))
        app.router.add_get("/docs", self.docs)
        return app

    def start(self) -> ControlApi:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)
        return self

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def _device(self, request: web.Request) -> int | None:
        return self.fleet.index_of.get(request.match_info["device_id"])

    async def list_devices(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            offset = max(0, int(query.get("offset", 0)))
            limit = min(1000, max(1, int(query.get("limit", 100))))
        except ValueError:
            return _error(400, "offset and limit must be integers")
        fleet = self.fleet
        with fleet.lock:
            chosen = [
                d
                for d in range(fleet.size)
                if (not query.get("phase") or PHASES[fleet.phase[d]] == query["phase"])
                and (not query.get("device_type") or DEVICE_TYPES[fleet.type_idx[d]] == query["device_type"])
                and (not query.get("mode") or fleet.mode[d] == MODE_INDEX.get(query["mode"], -2))
            ]
            devices = [fleet.describe(d) for d in chosen[offset : offset + limit]]
        return web.json_response({"total": len(chosen), "offset": offset, "devices": devices})

    async def get_device(self, request: web.Request) -> web.Response:
        device = self._device(request)
        if device is None:
            return _error(404, f"no device {request.match_info['device_id']!r}")
        with self.fleet.lock:
            return web.json_response(self.fleet.describe(device))

    async def _set_running(self, request: web.Request, running: bool) -> web.Response:
        device = self._device(request)
        if device is None:
            return _error(404, f"no device {request.match_info['device_id']!r}")
        with self.fleet.lock:
            self.fleet.set_running(device, running)
            return web.json_response(self.fleet.describe(device))

    async def start_device(self, request: web.Request) -> web.Response:
        return await self._set_running(request, True)

    async def stop_device(self, request: web.Request) -> web.Response:
        return await self._set_running(request, False)

    async def inject(self, request: web.Request) -> web.Response:
        device = self._device(request)
        if device is None:
            return _error(404, f"no device {request.match_info['device_id']!r}")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, 'body must be JSON: {"mode": ...}')
        mode = body.get("mode") if isinstance(body, dict) else None
        if mode not in MODE_INDEX:
            return _error(400, f"mode must be one of {', '.join(MODE_INDEX)}")
        with self.fleet.lock:
            self.fleet.inject(device, mode)
            return web.json_response(self.fleet.describe(device))

    async def modes(self, _: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "mode": m.name,
                    "degrading_min": m.degrading_min,
                    "critical_min": m.critical_min,
                    "detectable": m.detectable,
                }
                for m in MODES
            ]
        )

    async def docs(self, _: web.Request) -> web.Response:
        rows = "".join(
            f"<tr><td>{method.upper()}</td><td><code>{html.escape(path)}</code></td>"
            f"<td>{html.escape(op.get('summary', ''))}</td></tr>"
            for path, ops in OPENAPI["paths"].items()
            for method, op in ops.items()
        )
        page = (
            "<!doctype html><title>FleetPulse simulator API</title><h1>FleetPulse simulator control API</h1>"
            f"<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a></p><table border=1>{rows}</table>"
        )
        return web.Response(text=page, content_type="text/html")
