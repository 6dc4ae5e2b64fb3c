"""Phone ingestion: the Sensor Logger app's HTTP push → canonical readings (device_type phone).

The app POSTs `{messageId, sessionId, deviceId, payload: [{name, time (ns since epoch, UTC), values}]}`.
Health-relevant sensors (battery level/state/voltage/health, battery temperature, thermal state) become
one reading per push, at the newest mapped sample's time; motion sensors are counted and ignored.

Per-device bearer tokens (a JSON file {device: token}, where device is the app's deviceId or the
`phone-<deviceId>` FleetPulse shows: either works); a body-size limit and a per-device rate limit; 4xx
with a JSON `{error, reason}` on bad input, each counted by reason; 2xx only after Kafka acknowledged the
reading (503 when it did not). Sample times must be nanoseconds (422 `not_nanoseconds` otherwise) and
the reading's time within the event-time bounds around the server's clock (422 `future_time` /
`too_old`, schemas/admission.py): a phone with a wrong clock or unit cannot date readings to 1970 or 2083.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web
from prometheus_client import Counter

from core.settings import ConfigError
from producers.coalescing import Coalescer, NotAcknowledged
from producers.gateway import Gateway, Refusal, is_gateway
from producers.kafka_producer import ReadingProducer
from schemas import InvalidRecord, Reading, decode_reading, encode
from schemas.admission import TimeBounds, check_event_time, check_nanoseconds

log = logging.getLogger(__name__)
requests_total = Counter("fleetpulse_ingest_requests", "Pushes answered, by HTTP status.", ["status"])
rejected_total = Counter("fleetpulse_ingest_rejected", "Pushes rejected, by reason.", ["reason"])
ignored_samples = Counter("fleetpulse_ingest_ignored_samples", "Samples of sensors not mapped to readings.")


class Sample(msgspec.Struct):
    name: str
    time: int  # nanoseconds since the epoch, UTC
    values: dict[str, Any] = {}
    accuracy: int | None = None


class Push(msgspec.Struct):
    messageId: int
    sessionId: str
    deviceId: str
    payload: list[Sample]


_push_decoder = msgspec.json.Decoder(Push)
BATTERY_TEMP_NAMES = {"batterytemp", "battery temp", "batterytemperature", "battery_temp"}
THERMAL_NAMES = {"thermal", "thermalstate", "thermal state", "thermal_state"}
IOS_THERMAL = {"nominal", "fair", "serious", "critical"}
# Android PowerManager thermal status 0..6 (none, light, moderate, severe, critical, emergency, shutdown).
ANDROID_THERMAL = ["nominal", "fair", "fair", "serious", "critical", "critical", "critical"]


class Rejected(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def phone_device_id(app_device_id: str) -> str:
    return "phone-" + re.sub(r"[^A-Za-z0-9._:-]", "-", app_device_id)[:100]


def _number(values: dict[str, Any], *names: str) -> float | None:
    for name in names:
        value = values.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                continue
    return None


def _thermal(values: dict[str, Any]) -> str | None:
    state = values.get("state", values.get("thermalState", values.get("value")))
    if isinstance(state, str) and state.lower() in IOS_THERMAL:
        return state.lower()
    if isinstance(state, int | float) and 0 <= int(state) < len(ANDROID_THERMAL):
        return ANDROID_THERMAL[int(state)]
    return None


def to_reading(push: Push, seq: int) -> Reading | None:
    """Map one push onto one canonical reading; None when it carries no health-relevant sensor. Raises
    InvalidRecord(not_nanoseconds) when a sample's time cannot be nanoseconds since the epoch."""
    fields: dict[str, Any] = {}
    newest_ns = 0
    for sample in push.payload:
        check_nanoseconds(sample.time)
        name = sample.name.lower()
        before = len(fields)
        if name == "battery":
            level = _number(sample.values, "batteryLevel", "level")
            if level is not None:
                fields["battery_pct"] = round(level * 100, 1)  # the app sends 0-1; >1 is a bug, rejected
            state = sample.values.get("batteryState", sample.values.get("state"))
            if isinstance(state, str):
                fields["battery_charging"] = state.lower() in ("charging", "full")
            if (voltage := _number(sample.values, "voltage")) is not None:
                fields["battery_voltage_v"] = voltage  # follows the charge: a health field, never scored
            health = sample.values.get("health")
            if isinstance(health, str) and health:
                fields["battery_health"] = re.sub(r"[^a-z_]", "_", health.lower())[:32]
        elif name in BATTERY_TEMP_NAMES:
            if (temp := _number(sample.values, "temperature", "temp", "value")) is not None:
                fields["battery_temperature_c"] = temp
        elif name in THERMAL_NAMES and (state := _thermal(sample.values)) is not None:
            fields["thermal_state"] = state
        if len(fields) > before:
            newest_ns = max(newest_ns, sample.time)
        else:
            ignored_samples.inc()
    if not fields:
        return None
    return Reading(
        device_id=phone_device_id(push.deviceId),
        device_type="phone",
        ts=newest_ns // 1_000_000,
        seq=seq,
        **fields,
    )


class TokenBucket:
    """Per-device rate limit: `per_minute` pushes, refilled continuously."""

    def __init__(self, per_minute: int) -> None:
        self.rate, self.capacity = per_minute / 60.0, float(per_minute)
        self.state: dict[str, tuple[float, float]] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        tokens, last = self.state.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens < 1:
            self.state[key] = (tokens, now)
            return False
        self.state[key] = (tokens - 1, now)
        return True


TOKENS_SETTING = "FLEETPULSE_INGEST_TOKENS_FILE"
MIN_TOKEN_CHARS = 16


def load_tokens(path: str) -> dict[str, str]:
    """{device: token}; every way the file can be wrong is a ConfigError naming the setting and the entry."""
    if not path:
        log.warning("no %s: every push will be refused (401)", TOKENS_SETTING)
        return {}
    try:
        tokens = json.loads(Path(path).read_text())
    except OSError as error:
        raise ConfigError(TOKENS_SETTING, f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise ConfigError(TOKENS_SETTING, f"{path} is not JSON: {error}") from None
    if not isinstance(tokens, dict):
        raise ConfigError(TOKENS_SETTING, f"{path} must be a JSON object {{device_id: token}}")
    for device, token in tokens.items():
        if not isinstance(token, str) or len(token) < MIN_TOKEN_CHARS:
            raise ConfigError(
                TOKENS_SETTING,
                f"{path}: the token of {device!r} must be a string of at least {MIN_TOKEN_CHARS} characters",
            )
    return tokens


def token_covers(device: str, app_device_id: str) -> bool:
    """A token file entry names the phone by the app's deviceId or by the device id FleetPulse shows."""
    return device in (app_device_id, phone_device_id(app_device_id))


class IngestServer:
    def __init__(
        self,
        producer: ReadingProducer,
        tokens: dict[str, str],
        max_body: int,
        per_minute: int,
        time_bounds: TimeBounds | None = None,
        coalescer: Coalescer | None = None,
    ) -> None:
        """Without a coalescer every reading is its own message (no partition metadata needed)."""
        self.producer, self.tokens, self.max_body = producer, tokens, max_body
        self.coalescer = coalescer or Coalescer(producer, partitions=1, linger_ms=0, max_readings=1)
        self.time_bounds = time_bounds or TimeBounds()
        self.gateway = Gateway(producer, self.coalescer, self.time_bounds)
        self.limiter = TokenBucket(per_minute)
        self.seq: dict[str, int] = {}
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kafka-poll", daemon=True)

    def _poll(self) -> None:  # delivery callbacks run here
        while not self._stop.is_set():
            self.producer.poll(0.1)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body + 1)
        app.router.add_post("/push", self.push)
        app.router.add_post("/gateway/readings", self.gateway_readings)
        app.router.add_get("/healthz", lambda _: web.json_response({"ok": True}))
        app.on_startup.append(lambda _: self._start_poller())
        app.on_cleanup.append(lambda _: self._stop_poller())
        return app

    async def _start_poller(self) -> None:
        self._poller.start()

    async def _stop_poller(self) -> None:
        await self.coalescer.flush_all()
        self._stop.set()
        await asyncio.get_running_loop().run_in_executor(None, self.producer.flush, 30.0)

    def _authenticate(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise Rejected(401, "unauthenticated", "missing 'Authorization: Bearer <token>'")
        token = header.removeprefix("Bearer ").strip().encode()
        # Compare against every token in constant time, so timing reveals neither device nor token.
        matches = [d for d, t in self.tokens.items() if hmac.compare_digest(t.encode(), token)]
        if not matches:
            raise Rejected(401, "unauthenticated", "unknown token")
        return matches[0]

    async def _body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > self.max_body:
            raise Rejected(413, "too_large", f"body over {self.max_body} bytes")
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise Rejected(413, "too_large", f"body over {self.max_body} bytes") from None

    async def push(self, request: web.Request) -> web.Response:
        try:
            return await self._push(request)
        except Rejected as rejection:
            return self._refused(rejection)

    async def gateway_readings(self, request: web.Request) -> web.Response:
        """producers/gateway.py: canonical readings of any devices, from a `gateway:<name>` token."""
        try:
            gateway = self._authenticate(request)
            if not is_gateway(gateway):
                raise Rejected(403, "not_a_gateway", "this token is a phone's; gateways are named gateway:<name>")
            answer = await self.gateway.accept(gateway, await self._body(request))
        except Refusal as refusal:
            return self._refused(Rejected(refusal.status, refusal.reason, refusal.message))
        except Rejected as rejection:
            return self._refused(rejection)
        requests_total.labels("200").inc()
        return web.json_response(answer)

    def _refused(self, rejection: Rejected) -> web.Response:
        rejected_total.labels(rejection.reason).inc()
        requests_total.labels(str(rejection.status)).inc()
        return web.json_response({"error": rejection.message, "reason": rejection.reason}, status=rejection.status)

    async def _push(self, request: web.Request) -> web.Response:
        device = self._authenticate(request)
        if not self.limiter.allow(device):
            raise Rejected(429, "rate_limited", "too many pushes from this device; retry later")
        body = await self._body(request)
        try:
            push = _push_decoder.decode(body)
        except msgspec.DecodeError as error:
            reason = "bad_json" if not isinstance(error, msgspec.ValidationError) else "bad_payload"
            self.producer.dead_letter(device, body, reason, str(error))
            raise Rejected(400, reason, f"not a Sensor Logger push: {error}") from None
        if is_gateway(device) or not token_covers(device, push.deviceId):
            raise Rejected(403, "wrong_device", "this token belongs to another device")
        try:
            reading = to_reading(push, self.seq.get(device, 0))
            if reading is not None:
                check_event_time(reading.ts, int(time.time() * 1000), self.time_bounds)
        except InvalidRecord as error:
            self.producer.dead_letter(device, body, error.reason, error.error)
            raise Rejected(422, error.reason, error.error) from None
        if reading is None:
            requests_total.labels("200").inc()
            return web.json_response({"readings": 0, "note": "no health-relevant sensor in this push"})
        value = encode(reading)
        try:
            decode_reading(value)  # the same validation consumers apply: ranges, plausibility
        except InvalidRecord as error:
            self.producer.dead_letter(device, body, error.reason, error.error)
            raise Rejected(422, error.reason, error.error) from None
        await self._produce_acknowledged(reading.device_id.encode(), value)
        self.seq[device] = reading.seq + 1
        requests_total.labels("200").inc()
        return web.json_response({"readings": 1, "device_id": reading.device_id, "ts": reading.ts})

    async def _produce_acknowledged(self, key: bytes, value: bytes) -> None:
        """Through the coalescer: one envelope per partition and linger, answered after Kafka's ack."""
        try:
            await asyncio.wait_for(self.coalescer.send(key, value), timeout=30)
        except (NotAcknowledged, TimeoutError) as error:
            raise Rejected(503, "kafka_unavailable", f"Kafka did not acknowledge: {error}") from None
