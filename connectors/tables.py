"""Create and migrate the DynamoDB tables the sinks write and the API reads (idempotent, boto3).

Key design: every table's partition key is device_id, so one device's data is one Query away.
- readings, scores, windows: sort key ts (event time, epoch ms; a window row's ts is its start).
  (device_id, ts) identifies a record, so a
  replayed or redelivered record overwrites itself. Readings carry a TTL attribute (expires_at).
- device events: sort key event_key = "<kind>#<ts>" (composed by the sink), so two kinds of event at the
  same millisecond don't collide and "the newest liveness event" is one Query with begins_with.
- device status: partition key only: the sink overwrites the device's row with its newest score, so
  "latest status of a device" is a GetItem. A GSI on a constant attribute (fleet) lists every device
  with a paginated Query instead of a Scan.
- alert acks: sort key alert_ts, written by the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3

from core.settings import Settings

FLEET_INDEX = "by_fleet"
FLEET_ATTRIBUTE, FLEET_VALUE = "fleet", "all"  # stamped on every status row by the sink (InsertField SMT)
TTL_ATTRIBUTE = "expires_at"


@dataclass(frozen=True)
class TableSpec:
    name: str
    partition_key: str = "device_id"
    sort_key: tuple[str, str] | None = None  # (attribute, "S" | "N")
    fleet_index: bool = False
    ttl_attribute: str | None = None

    def key_schema(self) -> list[dict[str, str]]:
        keys = [{"AttributeName": self.partition_key, "KeyType": "HASH"}]
        if self.sort_key:
            keys.append({"AttributeName": self.sort_key[0], "KeyType": "RANGE"})
        return keys

    def attributes(self) -> list[dict[str, str]]:
        types = {self.partition_key: "S"}
        if self.sort_key:
            types[self.sort_key[0]] = self.sort_key[1]
        if self.fleet_index:
            types[FLEET_ATTRIBUTE] = "S"
        return [{"AttributeName": name, "AttributeType": kind} for name, kind in types.items()]


FLEET_GSI = {
    "IndexName": FLEET_INDEX,
    "KeySchema": [
        {"AttributeName": FLEET_ATTRIBUTE, "KeyType": "HASH"},
        {"AttributeName": "device_id", "KeyType": "RANGE"},
    ],
    "Projection": {"ProjectionType": "ALL"},
}


@dataclass
class Migration:
    table: str
    actions: list[str] = field(default_factory=list)


def table_specs(settings: Settings) -> list[TableSpec]:
    ttl = TTL_ATTRIBUTE if settings.readings_ttl_days > 0 else None
    windows_ttl = TTL_ATTRIBUTE if settings.windows_ttl_days > 0 else None
    return [
        TableSpec(settings.table_readings, sort_key=("ts", "N"), ttl_attribute=ttl),
        TableSpec(settings.table_windows, sort_key=("ts", "N"), ttl_attribute=windows_ttl),
        TableSpec(settings.table_scores, sort_key=("ts", "N")),
        TableSpec(settings.table_events, sort_key=("event_key", "S")),
        TableSpec(settings.table_device_status, fleet_index=True),
        TableSpec(settings.table_alert_acks, sort_key=("alert_ts", "N")),
    ]


def dynamodb_client(settings: Settings) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=settings.dynamodb_endpoint or None,
        region_name=settings.aws_region,
        aws_access_key_id=settings.aws_access_key_id or None,
        aws_secret_access_key=settings.aws_secret_access_key.get_secret_value() or None,
    )


class TableError(RuntimeError):
    pass


def _wait(client: Any, name: str) -> None:
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})


def ensure_table(client: Any, spec: TableSpec) -> Migration:
    """Create the table if missing, else bring it to the spec: add the fleet index, set TTL.
    A different key schema cannot be migrated in place, so it is an error (never a silent drop)."""
    migration = Migration(spec.name)
    try:
        described = client.describe_table(TableName=spec.name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        params: dict[str, Any] = {
            "TableName": spec.name,
            "AttributeDefinitions": spec.attributes(),
            "KeySchema": spec.key_schema(),
            "BillingMode": "PAY_PER_REQUEST",
        }
        if spec.fleet_index:
            params["GlobalSecondaryIndexes"] = [FLEET_GSI]
        client.create_table(**params)
        _wait(client, spec.name)
        migration.actions.append("created")
        described = client.describe_table(TableName=spec.name)["Table"]
    if described["KeySchema"] != spec.key_schema():
        raise TableError(f"{spec.name}: key schema {described['KeySchema']} differs from {spec.key_schema()}")
    indexes = {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}
    if spec.fleet_index and FLEET_INDEX not in indexes:
        client.update_table(
            TableName=spec.name,
            AttributeDefinitions=spec.attributes(),
            GlobalSecondaryIndexUpdates=[{"Create": FLEET_GSI}],
        )
        _wait(client, spec.name)
        migration.actions.append(f"added index {FLEET_INDEX}")
    migration.actions.extend(_ensure_ttl(client, spec))
    return migration


def _ensure_ttl(client: Any, spec: TableSpec) -> list[str]:
    current = client.describe_time_to_live(TableName=spec.name)["TimeToLiveDescription"]
    enabled = current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    attribute = current.get("AttributeName")
    if spec.ttl_attribute and not (enabled and attribute == spec.ttl_attribute):
        client.update_time_to_live(
            TableName=spec.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
        )
        return [f"TTL on {spec.ttl_attribute}"]
    if not spec.ttl_attribute and enabled:
        client.update_time_to_live(
            TableName=spec.name, TimeToLiveSpecification={"Enabled": False, "AttributeName": attribute}
        )
        return ["TTL disabled"]
    return []


def ensure_tables(settings: Settings) -> list[Migration]:
    client = dynamodb_client(settings)
    return [ensure_table(client, spec) for spec in table_specs(settings)]


def create_tables(settings: Settings) -> list[str]:
    """Names of the tables created now (kept for `fleetpulse demo`)."""
    return [m.table for m in ensure_tables(settings) if "created" in m.actions]


def create_table(client: Any, name: str) -> bool:
    """A (device_id, ts) table, created if missing; True if created (used by older tests)."""
    return "created" in ensure_table(client, TableSpec(name, sort_key=("ts", "N"))).actions


def latest_items(settings: Settings, table: str, device_id: str, limit: int = 5) -> list[dict[str, Any]]:
    """The newest items of one device: a Query on the key, newest first (never a Scan)."""
    from boto3.dynamodb.types import TypeDeserializer

    response = dynamodb_client(settings).query(
        TableName=table,
        KeyConditionExpression="device_id = :d",
        ExpressionAttributeValues={":d": {"S": device_id}},
        ScanIndexForward=False,
        Limit=limit,
    )
    deserializer = TypeDeserializer()
    return [{k: deserializer.deserialize(v) for k, v in item.items()} for item in response["Items"]]
