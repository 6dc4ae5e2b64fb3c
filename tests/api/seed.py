"""A small known fleet written straight into the local DynamoDB server, for the API and bot tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from connectors.tables import FLEET_ATTRIBUTE, FLEET_VALUE, dynamodb_client, ensure_tables, table_specs
from core.settings import Settings

NOW = 1_795_000_000_000
READINGS = 25  # of device d-000, one per second
WINDOWS = 10  # 1-min window rows of device d-000, the last ten minutes
AGES_S = [5, 30, 60, 1200, 7200]  # d-003 silent 20 min, d-004 dead 2 h
SCORES = ["0.95", "0.85", "0.6", "0.1", "0.0"]  # two critical, one warning, two ok


def _put(client: Any, table: str, item: dict[str, Any]) -> None:
    serializer = TypeSerializer()
    client.put_item(TableName=table, Item={k: serializer.serialize(v) for k, v in item.items()})


def status_row(device: str, ts: int, score: str) -> dict[str, Any]:
    reasons = [
        {"sensor": "fan_cfm", "value": Decimal("3"), "contribution": Decimal("0.2"), "detail": "slow"},
        {"sensor": "temperature_c", "value": Decimal("91.5"), "contribution": Decimal("0.9"), "detail": "hot"},
    ]
    return {"device_id": device, "ts": ts, "seq": 1, "score": Decimal(score), "model": "baseline-limits-v1",
            "reasons": reasons, "scored_at": ts, FLEET_ATTRIBUTE: FLEET_VALUE}  # fmt: skip


def seed(settings: Settings, now: int = NOW) -> None:
    ensure_tables(settings)
    client = dynamodb_client(settings)
    for i, (age, score) in enumerate(zip(AGES_S, SCORES, strict=True)):
        device, ts = f"d-{i:03d}", now - age * 1000
        _put(client, settings.table_device_status, status_row(device, ts, score))
        _put(client, settings.table_scores, status_row(device, ts, score))
    for n in range(READINGS):
        _put(client, settings.table_readings, {"device_id": "d-000", "ts": now - 60_000 + n * 1000, "seq": n})
    _put(client, settings.table_readings, {"device_id": "d-001", "ts": now - 30_000, "seq": 0})
    _put(client, settings.table_events, {"device_id": "d-001", "event_key": f"liveness#{now - 1000}",
         "kind": "liveness", "ts": now - 1000, "state": "late"})  # fmt: skip
    for minute in range(WINDOWS):
        _put(client, settings.table_windows, window_row("d-000", now - (WINDOWS - minute) * 60_000))


def window_row(device: str, start: int) -> dict[str, Any]:
    stats = {"temperature_c": {"n": 12, "mean": Decimal("45.5"), "min": Decimal("44"), "max": Decimal("47"),
             "last": Decimal("46"), "std": Decimal("0.8"), "slope": Decimal("0.01")}}  # fmt: skip
    return {"device_id": device, "ts": start, "end": start + 60_000, "device_type": "pc", "stats": stats}


def drop(settings: Settings) -> None:
    client = dynamodb_client(settings)
    for spec in table_specs(settings):
        client.delete_table(TableName=spec.name)
