"""The bot reads and writes through the query API over HTTP, never DynamoDB or Kafka directly."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx


class ApiProblem(RuntimeError):
    """The API said no (4xx) or is unreachable (5xx, network): a message for the user, not a crash."""


class QueryApi:
    def __init__(self, base_url: str, token: str, http: httpx.Client | None = None) -> None:
        headers = {"X-API-Key": token} if token else {}
        self.http = http or httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=10.0)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise ApiProblem(f"the query API is unreachable ({type(error).__name__})") from error
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text[:200]}
        if response.status_code >= 400:
            detail = body.get("detail", body)
            if isinstance(detail, list):  # validation problems
                detail = "; ".join(f"{d.get('where')}: {d.get('problem')}" for d in detail)
            raise ApiProblem(f"{detail}")
        return body

    def status(self, device_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/devices/{quote(device_id, safe='')}/status")

    def summary(self) -> dict[str, Any]:
        return self._call("GET", "/v1/fleet/summary")

    def silent(self) -> dict[str, Any]:
        return self._call("GET", "/v1/fleet/silent")

    def ack(self, alert_id: str, user: str) -> dict[str, Any]:
        return self._call("POST", f"/v1/alerts/{quote(alert_id, safe='@')}/ack", json={"user": user})

    def feedback(self, alert_id: str, verdict: str, user: str) -> dict[str, Any]:
        path = f"/v1/alerts/{quote(alert_id, safe='@')}/feedback"
        return self._call("POST", path, json={"verdict": verdict, "user": user})
