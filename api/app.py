"""The FastAPI app: routes, auth, JSON errors, metrics, and Swagger UI served from a PyPI package
(swagger-ui-bundle) instead of FastAPI's default CDN, so the docs work offline."""

from __future__ import annotations

import hmac
import time
from typing import Annotated, Any, Literal

import msgspec
import swagger_ui_bundle
from botocore.exceptions import BotoCoreError, ClientError
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from api.events import EventPublisher
from api.metrics import ApiMetrics
from api.pagination import BadPageToken
from api.store import FleetStore
from core.settings import Settings
from schemas.events import Feedback

DEVICE_ID = Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$", description="device id")
NowMs = Annotated[int | None, Query(ge=0, description="evaluate liveness at this epoch ms (default: now)")]


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: Any) -> None:
        self.status, self.error, self.detail = status, error, detail


class FeedbackBody(BaseModel):
    verdict: Literal["right", "wrong"]
    user: str | None = Field(None, max_length=128)
    note: str | None = Field(None, max_length=1000)
    mode: str | None = Field(None, description="what it really was (a failure mode), when known")


class AckBody(BaseModel):
    user: str | None = Field(None, max_length=128)


def _error(status: int, error: str, detail: Any) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


def parse_alert_id(alert_id: str) -> tuple[str, int]:
    """An alert is a score above the warning level, named `<device_id>@<event time ms>`."""
    device_id, _, ts = alert_id.rpartition("@")
    if not device_id or not ts.isdigit():
        raise ApiError(400, "bad_request", "alert id must look like <device_id>@<epoch ms>")
    return device_id, int(ts)


def create_app(settings: Settings, store: FleetStore | None = None, publisher: EventPublisher | None = None) -> FastAPI:
    store = store or FleetStore(settings)
    metrics = ApiMetrics(settings)
    state: dict[str, EventPublisher | None] = {"publisher": publisher}
    token = settings.api_token.get_secret_value()

    def authenticate(request: Request) -> None:
        if not token:
            return
        bearer = request.headers.get("authorization", "")
        given = request.headers.get("x-api-key") or (bearer[7:] if bearer.lower().startswith("bearer ") else "")
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            raise ApiError(401, "unauthorized", "send the API key as X-API-Key or Authorization: Bearer")

    app = FastAPI(
        title="FleetPulse query API",
        version="1",
        docs_url=None,
        redoc_url=None,
        dependencies=[],
        description="Devices, their latest status and readings, straight from DynamoDB (Query/GetItem, never Scan).",
    )
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")
    auth = [Depends(authenticate)]

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.requests.labels(route, str(response.status_code)).inc()
        metrics.latency.labels(route).observe(time.perf_counter() - started)
        return response

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return _error(error.status, error.error, error.detail)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, error: RequestValidationError) -> JSONResponse:
        detail = [{"where": ".".join(map(str, e["loc"])), "problem": e["msg"]} for e in error.errors()]
        return _error(400, "bad_request", detail)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, error: HTTPException) -> JSONResponse:
        return _error(error.status_code, "not_found" if error.status_code == 404 else "http_error", error.detail)

    @app.exception_handler(BadPageToken)
    async def bad_token(_: Request, error: BadPageToken) -> JSONResponse:
        return _error(400, "bad_request", str(error))

    @app.exception_handler(ClientError)
    @app.exception_handler(BotoCoreError)
    async def storage_down(_: Request, error: Exception) -> JSONResponse:
        return _error(503, "unavailable", f"DynamoDB: {type(error).__name__}")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="FleetPulse API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    def now(now_ms: int | None) -> int:
        return now_ms if now_ms is not None else store.now_ms()

    @app.get("/v1/devices", dependencies=auth, summary="Devices with their latest status (paginated)")
    def devices(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        page_token: Annotated[str | None, Query(max_length=4096)] = None,
        now_ms: NowMs = None,
    ) -> dict[str, Any]:
        page = store.list_devices(limit, page_token, now(now_ms))
        return {"items": page.items, "next_page_token": page.next_page_token}

    @app.get("/v1/devices/{device_id}/status", dependencies=auth, summary="Latest score, top reasons, liveness")
    def device_status(device_id: Annotated[str, DEVICE_ID], now_ms: NowMs = None) -> dict[str, Any]:
        status = store.device_status(device_id, now(now_ms))
        if status is None:
            raise ApiError(404, "not_found", f"no status for device {device_id}")
        return status

    @app.get("/v1/devices/{device_id}/readings", dependencies=auth, summary="Readings in a time range (paginated)")
    def readings(
        device_id: Annotated[str, DEVICE_ID],
        from_ms: Annotated[int, Query(ge=0, description="inclusive, epoch ms")],
        to_ms: Annotated[int, Query(ge=0, description="inclusive, epoch ms")],
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        page_token: Annotated[str | None, Query(max_length=4096)] = None,
    ) -> dict[str, Any]:
        if from_ms > to_ms:
            raise ApiError(400, "bad_request", "from_ms must not be after to_ms")
        page = store.readings(device_id, from_ms, to_ms, limit, page_token)
        body: dict[str, Any] = {"items": page.items, "next_page_token": page.next_page_token}
        if store.readings_source() == "windows":
            body["source"] = "windows"
            body["note"] = "raw readings are not stored (storage policy); one item per 1-minute window, sensor means"
        return body

    @app.get("/v1/fleet/summary", dependencies=auth, summary="Counts by state, share of silent devices")
    def fleet_summary(now_ms: NowMs = None) -> dict[str, Any]:
        return store.summary(now(now_ms))

    @app.get("/v1/fleet/silent", dependencies=auth, summary="Devices without a reading for the silent threshold")
    def silent(now_ms: NowMs = None) -> dict[str, Any]:
        rows = [row for row in store.all_devices(now(now_ms)) if row["liveness"] != "on_time"]
        return {"items": rows, "silent_seconds": settings.worker_silent_seconds}

    def existing_alert(alert_id: str) -> tuple[str, int]:
        device_id, ts = parse_alert_id(alert_id)
        if store.score(device_id, ts) is None:
            raise ApiError(404, "not_found", f"no score {alert_id}")
        return device_id, ts

    @app.post("/v1/alerts/{alert_id}/ack", dependencies=auth, status_code=200, summary="Acknowledge an alert")
    def ack(alert_id: str, body: AckBody | None = None) -> dict[str, Any]:
        device_id, ts = existing_alert(alert_id)
        store.ack(device_id, ts, body.user if body else None, store.now_ms())
        return {"alert_id": alert_id, "acked": True}

    @app.post("/v1/alerts/{alert_id}/feedback", dependencies=auth, status_code=202, summary="Right/wrong label")
    def feedback(alert_id: str, body: FeedbackBody) -> dict[str, Any]:
        device_id, ts = existing_alert(alert_id)
        values = {"device_id": device_id, "ts": store.now_ms(), "alert_ts": ts, **body.model_dump(exclude_none=True)}
        try:
            event = msgspec.convert(values, Feedback)
        except msgspec.ValidationError as error:
            raise ApiError(400, "bad_request", str(error)) from error
        if state["publisher"] is None:
            state["publisher"] = EventPublisher(settings)
        try:
            state["publisher"].feedback(event)
        except RuntimeError as error:
            raise ApiError(503, "unavailable", str(error)) from error
        metrics.feedback.labels(body.verdict).inc()
        return {"alert_id": alert_id, "verdict": body.verdict, "topic": settings.topic_events}

    return app
