"""Reads (and the two writes: acks, feedback) behind the API. Every read is a GetItem or a key Query,
never a Scan: the fleet list is a Query on the status table's fleet index."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from api import pagination
from connectors.tables import FLEET_ATTRIBUTE, FLEET_INDEX, FLEET_VALUE, dynamodb_client
from core.settings import Settings
from streams.liveness import STATES, LivenessConfig, classify

WARNING_SCORE, CRITICAL_SCORE = 0.5, 0.8
_LIVENESS_ORDER = ("on_time", "late", "silent", "dead")
_deserializer, _serializer = TypeDeserializer(), TypeSerializer()


def plain(value: Any) -> Any:
    """DynamoDB's Decimals as JSON numbers (ints stay ints)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _item(raw: dict[str, Any]) -> dict[str, Any]:
    return plain({k: _deserializer.deserialize(v) for k, v in raw.items()})


def risk_state(score: float) -> str:
    return "critical" if score >= CRITICAL_SCORE else "warning" if score >= WARNING_SCORE else "ok"


def reading_from_window(row: dict[str, Any]) -> dict[str, Any]:
    """A window row shaped like a reading: each sensor's mean under its own name (at the window's start),
    plus the window's end, reading count and per-sensor statistics."""
    stats = row.get("stats", {})
    reading = {
        "device_id": row["device_id"],
        "ts": row["ts"],
        "window_end": row.get("end"),
        "device_type": row.get("device_type"),
    }
    reading |= {sensor: s.get("mean") for sensor, s in stats.items()}
    return reading | {"count": max((s.get("n", 0) for s in stats.values()), default=0), "stats": stats}


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_page_token: str | None


class FleetStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.liveness_config = LivenessConfig.of(settings)
        self.client = dynamodb_client(settings)

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def liveness(self, last_seen_ms: int, now_ms: int) -> str:
        """Derived from the newest score's event time by the worker's own rule and thresholds
        (streams/liveness.classify), so the API and the worker agree; without the device's learned cadence
        there is no `late` here (the device status shows the worker's own verdict)."""
        return STATES[classify(now_ms - last_seen_ms, 0.0, self.liveness_config)]

    def row_liveness(self, row: dict[str, Any], now_ms: int) -> str:
        """A row the storage policy wrote carries the worker's verdict (rewritten on every change), but the
        row itself may be up to a heartbeat old: derive from its age minus the heartbeat, so a stopped worker
        still shows as silence, and take the worse of the two."""
        ts = int(row.get("ts", 0))
        if "liveness" not in row:
            return self.liveness(ts, now_ms)
        derived = self.liveness(ts + int(self.settings.storage_heartbeat_seconds * 1000), now_ms)
        return max(str(row["liveness"]), derived, key=_LIVENESS_ORDER.index)

    def _summary_row(self, row: dict[str, Any], now_ms: int) -> dict[str, Any]:
        return {
            "device_id": row["device_id"],
            "ts": row.get("ts"),
            "score": row.get("score"),
            "state": risk_state(float(row.get("score", 0))),
            "liveness": self.row_liveness(row, now_ms),
            "alert_id": f"{row['device_id']}@{row.get('ts')}",
        }

    def list_devices(self, limit: int, page_token: str | None, now_ms: int) -> Page:
        query = pagination.fingerprint("devices")
        params: dict[str, Any] = {
            "TableName": self.settings.table_device_status,
            "IndexName": FLEET_INDEX,
            "KeyConditionExpression": "#f = :f",
            "ExpressionAttributeNames": {"#f": FLEET_ATTRIBUTE},
            "ExpressionAttributeValues": {":f": {"S": FLEET_VALUE}},
            "Limit": limit,
        }
        start = pagination.decode(page_token, query)
        if start:
            params["ExclusiveStartKey"] = start
        response = self.client.query(**params)
        rows = [self._summary_row(_item(raw), now_ms) for raw in response["Items"]]
        return Page(rows, pagination.encode(response.get("LastEvaluatedKey"), query))

    def all_devices(self, now_ms: int) -> list[dict[str, Any]]:
        rows, token = [], None
        while True:
            page = self.list_devices(1000, token, now_ms)
            rows.extend(page.items)
            if not (token := page.next_page_token):
                return rows

    def readings_source(self) -> str:
        """Where readings in a time range come from: the raw readings, or the 1-min windows when the storage
        policy does not keep raw readings."""
        return "readings" if self.settings.stores_raw_readings() else "windows"

    def readings(self, device_id: str, from_ms: int, to_ms: int, limit: int, page_token: str | None) -> Page:
        windows = self.readings_source() == "windows"
        query = pagination.fingerprint("readings", device_id, from_ms, to_ms, *(["windows"] if windows else []))
        params: dict[str, Any] = {
            "TableName": self.settings.table_windows if windows else self.settings.table_readings,
            "KeyConditionExpression": "device_id = :d AND ts BETWEEN :a AND :b",
            "ExpressionAttributeValues": {":d": {"S": device_id}, ":a": {"N": str(from_ms)}, ":b": {"N": str(to_ms)}},
            "Limit": limit,
        }
        start = pagination.decode(page_token, query)
        if start:
            params["ExclusiveStartKey"] = start
        response = self.client.query(**params)
        items = [_item(raw) for raw in response["Items"]]
        if windows:
            items = [reading_from_window(item) for item in items]
        return Page(items, pagination.encode(response.get("LastEvaluatedKey"), query))

    def device_status(self, device_id: str, now_ms: int, top_reasons: int = 3) -> dict[str, Any] | None:
        raw = self.client.get_item(TableName=self.settings.table_device_status, Key={"device_id": {"S": device_id}})
        if "Item" not in raw:
            return None
        row = _item(raw["Item"])
        status = self._summary_row(row, now_ms)
        reasons = sorted(row.get("reasons", []), key=lambda r: -float(r.get("contribution", 0)))
        status |= {"model": row.get("model"), "reasons": reasons[:top_reasons]}
        for optional in ("time_to_limit", "time_to_limit_s"):  # the ML model may add these (optional fields)
            if optional in row:
                status[optional] = row[optional]
        event = self.newest_event(device_id, "liveness")
        if event:  # the streams engine's own verdict wins over the derived one
            status["liveness"] = event["state"]
            status["liveness_ts"] = event["ts"]
        status["acked"] = self.is_acked(device_id, int(row.get("ts", 0)))
        return status

    def newest_event(self, device_id: str, kind: str) -> dict[str, Any] | None:
        response = self.client.query(
            TableName=self.settings.table_events,
            KeyConditionExpression="device_id = :d AND begins_with(event_key, :k)",
            ExpressionAttributeValues={":d": {"S": device_id}, ":k": {"S": f"{kind}#"}},
            ScanIndexForward=False,
            Limit=1,
        )
        return _item(response["Items"][0]) if response["Items"] else None

    def score(self, device_id: str, ts: int) -> dict[str, Any] | None:
        key = {"device_id": {"S": device_id}, "ts": {"N": str(ts)}}
        raw = self.client.get_item(TableName=self.settings.table_scores, Key=key)
        return _item(raw["Item"]) if "Item" in raw else None

    def ack(self, device_id: str, alert_ts: int, user: str | None, now_ms: int) -> None:
        item = {"device_id": device_id, "alert_ts": alert_ts, "acked_at": now_ms, "user": user or "unknown"}
        self.client.put_item(
            TableName=self.settings.table_alert_acks, Item={k: _serializer.serialize(v) for k, v in item.items()}
        )

    def is_acked(self, device_id: str, alert_ts: int) -> bool:
        key = {"device_id": {"S": device_id}, "alert_ts": {"N": str(alert_ts)}}
        return "Item" in self.client.get_item(TableName=self.settings.table_alert_acks, Key=key)

    def summary(self, now_ms: int) -> dict[str, Any]:
        devices = self.all_devices(now_ms)
        by_state = {state: 0 for state in ("ok", "warning", "critical")}
        by_liveness = {state: 0 for state in ("on_time", "silent", "dead")}
        for row in devices:
            by_state[row["state"]] += 1
            by_liveness[row["liveness"]] += 1
        silent = by_liveness["silent"] + by_liveness["dead"]
        return {
            "devices": len(devices),
            "by_state": by_state,
            "by_liveness": by_liveness,
            "silent_seconds": self.settings.worker_silent_seconds,
            "silent_share": round(silent / len(devices), 4) if devices else 0.0,
            "now_ms": now_ms,
        }
