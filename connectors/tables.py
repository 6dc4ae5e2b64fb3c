"""Create the DynamoDB tables the sinks write (idempotent).

Key design: partition key device_id, sort key ts (event time, epoch ms). A reading or score is
identified by (device_id, ts), so a replayed or redelivered record overwrites itself.
"""

from __future__ import annotations

from typing import Any

import boto3

from fleetpulse.settings import Settings


def dynamodb_client(settings: Settings) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=settings.dynamodb_endpoint or None,
        region_name=settings.aws_region,
        aws_access_key_id=settings.aws_access_key_id or None,
        aws_secret_access_key=settings.aws_secret_access_key.get_secret_value() or None,
    )


def create_table(client: Any, name: str) -> bool:
    """Create a (device_id, ts) table if missing; True if created."""
    if name in client.list_tables()["TableNames"]:
        return False
    client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "device_id", "AttributeType": "S"},
            {"AttributeName": "ts", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "device_id", "KeyType": "HASH"},
            {"AttributeName": "ts", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return True


def create_tables(settings: Settings) -> list[str]:
    client = dynamodb_client(settings)
    return [name for name in (settings.table_readings, settings.table_scores) if create_table(client, name)]


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
