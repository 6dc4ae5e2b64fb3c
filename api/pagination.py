"""Opaque page tokens: DynamoDB's LastEvaluatedKey, bound to the query it came from.

The token is base64url JSON {"q": <query fingerprint>, "k": <key>}; a token replayed against another
device or time range, or edited by hand, is rejected with a 400 rather than silently reading elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any


class BadPageToken(ValueError):
    pass


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def encode(key: dict[str, Any] | None, query: str) -> str | None:
    if not key:
        return None
    raw = json.dumps({"q": query, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str | None, query: str) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        document = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise BadPageToken("page_token is not a token this API issued") from error
    if not isinstance(document, dict) or document.get("q") != query or not isinstance(document.get("k"), dict):
        raise BadPageToken("page_token belongs to a different query")
    return document["k"]
