"""S3 (or any S3-compatible server: MinIO, moto) as the model snapshots' object store, via boto3.

Credentials come from boto3's standard chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an
instance profile or IRSA), not from FLEETPULSE_AWS_*: those are DynamoDB's, often the local server's dummy
keys. Every failure becomes a SnapshotError that says what was asked of which bucket, never a traceback.
"""

from __future__ import annotations

from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from core.settings import Settings
from streams.snapshots.archive import SnapshotError

_MISSING = {"NoSuchKey", "404", "NotFound"}


def parse_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/prefix` → (bucket, prefix)."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise SnapshotError(f"not an S3 location: '{uri}' (expected s3://bucket/prefix)")
    return parsed.netloc, parsed.path.strip("/")


class S3Store:
    def __init__(self, settings: Settings, bucket: str) -> None:
        self.bucket = bucket
        self.endpoint = settings.s3_endpoint_url or None
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=settings.s3_region or None,
            # path-style URLs: what MinIO and moto serve without wildcard DNS; fine on AWS too
            config=Config(s3={"addressing_style": "path"} if self.endpoint else {}, retries={"max_attempts": 3}),
        )

    def _fail(self, action: str, key: str, error: Exception) -> SnapshotError:
        where = f"s3://{self.bucket}/{key}" + (f" at {self.endpoint}" if self.endpoint else "")
        if isinstance(error, ClientError):
            code = error.response.get("Error", {}).get("Code", "")
            if code == "NoSuchBucket":
                return SnapshotError(f"bucket '{self.bucket}' does not exist ({action} {where})")
            return SnapshotError(f"{action} {where} failed: {code or error}")
        return SnapshotError(f"{action} {where} failed: {error}")

    def put(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        except (ClientError, BotoCoreError) as error:
            raise self._fail("writing", key, error) from None

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code", "") in _MISSING:
                raise SnapshotError(f"no object s3://{self.bucket}/{key}") from None
            raise self._fail("reading", key, error) from None
        except BotoCoreError as error:
            raise self._fail("reading", key, error) from None

    def check_bucket(self) -> None:
        """Fail before any work when the bucket is missing or unreachable."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code", "") in {"404", "NoSuchBucket", "NotFound"}:
                raise SnapshotError(f"bucket '{self.bucket}' does not exist") from None
            raise self._fail("checking", "", error) from None
        except BotoCoreError as error:
            raise self._fail("checking", "", error) from None
