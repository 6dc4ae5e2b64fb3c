"""The query API against the real local DynamoDB server and Kafka (for feedback): pagination, auth, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from core.settings import Settings
from core.topics import create_topics
from schemas.events import Feedback
from tests.api.seed import NOW, READINGS, WINDOWS, drop, seed
from tests.conftest import isolated_settings
from tests.harness import consume

pytestmark = pytest.mark.integration

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def seeded(stack: Settings) -> Iterator[Settings]:
    settings = isolated_settings(stack, api_token=SecretStr(TOKEN))
    seed(settings)
    yield settings
    drop(settings)


@pytest.fixture(scope="module")
def api(seeded: Settings) -> TestClient:
    client = TestClient(create_app(seeded))
    client.headers["X-API-Key"] = TOKEN
    return client


def test_auth_is_required_by_api_key_or_bearer(seeded: Settings) -> None:
    client = TestClient(create_app(seeded))
    response = client.get("/v1/fleet/summary")
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    assert client.get("/v1/fleet/summary", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/v1/fleet/summary", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/healthz").status_code == 200  # probes and docs stay open


def test_readings_paginate_with_opaque_tokens_without_gaps_or_repeats(api: TestClient) -> None:
    seen: list[int] = []
    token, pages = None, 0
    while True:
        params: dict[str, Any] = {"from_ms": NOW - 60_000, "to_ms": NOW, "limit": 7}
        if token:
            params["page_token"] = token
        body = api.get("/v1/devices/d-000/readings", params=params).json()
        seen += [item["ts"] for item in body["items"]]
        pages += 1
        if not (token := body["next_page_token"]):
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == READINGS
    assert pages == 4  # 7 + 7 + 7 + 4
    # A range narrower than the data: only what lies inside it, inclusive bounds.
    body = api.get("/v1/devices/d-000/readings", params={"from_ms": NOW - 60_000, "to_ms": NOW - 58_000}).json()
    assert [i["seq"] for i in body["items"]] == [0, 1, 2] and body["next_page_token"] is None


def test_readings_come_from_the_window_rows_when_raw_readings_are_off(seeded: Settings, api: TestClient) -> None:
    windowed = TestClient(create_app(seeded.model_copy(update={"storage_raw_readings": "off"})))
    windowed.headers["X-API-Key"] = TOKEN
    params = {"from_ms": NOW - 600_000, "to_ms": NOW}
    body = windowed.get("/v1/devices/d-000/readings", params=params).json()
    assert body["source"] == "windows" and "1-minute window" in body["note"]
    assert [item["ts"] for item in body["items"]] == [NOW - (WINDOWS - m) * 60_000 for m in range(WINDOWS)]
    first = body["items"][0]
    assert (first["temperature_c"], first["count"], first["window_end"]) == (45.5, 12, first["ts"] + 60_000)
    assert first["stats"]["temperature_c"]["max"] == 47
    assert "source" not in api.get("/v1/devices/d-000/readings", params=params).json()  # raw readings kept


def test_page_token_is_bound_to_its_query(api: TestClient) -> None:
    first = api.get("/v1/devices/d-000/readings", params={"from_ms": 0, "to_ms": NOW, "limit": 2}).json()
    other = api.get(
        "/v1/devices/d-001/readings", params={"from_ms": 0, "to_ms": NOW, "page_token": first["next_page_token"]}
    )
    assert other.status_code == 400 and "different query" in other.json()["detail"]
    garbage = api.get("/v1/devices/d-000/readings", params={"from_ms": 0, "to_ms": NOW, "page_token": "%%%"})
    assert garbage.status_code == 400


@pytest.mark.parametrize(
    ("path", "params", "where"),
    [
        ("/v1/devices/d-000/readings", {"from_ms": 10, "to_ms": 5}, None),
        ("/v1/devices/d-000/readings", {"from_ms": "yesterday", "to_ms": 5}, "query.from_ms"),
        ("/v1/devices/d-000/readings", {"to_ms": 5}, "query.from_ms"),
        ("/v1/devices/d-000/readings", {"from_ms": 0, "to_ms": 5, "limit": 0}, "query.limit"),
        ("/v1/devices/bad%20id!/status", {}, "path.device_id"),
        ("/v1/devices", {"limit": 5000}, "query.limit"),
    ],
)
def test_bad_parameters_get_a_clear_400(api: TestClient, path: str, params: dict[str, Any], where: str | None) -> None:
    response = api.get(path, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "bad_request"
    if where:
        assert any(problem["where"] == where for problem in body["detail"]), body


def test_device_list_pages_through_the_fleet_index(api: TestClient) -> None:
    devices, token = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, "now_ms": NOW}
        if token:
            params["page_token"] = token
        body = api.get("/v1/devices", params=params).json()
        devices += body["items"]
        if not (token := body["next_page_token"]):
            break
    assert [d["device_id"] for d in devices] == [f"d-{i:03d}" for i in range(5)]
    assert [d["state"] for d in devices] == ["critical", "critical", "warning", "ok", "ok"]
    assert [d["liveness"] for d in devices] == ["on_time", "on_time", "on_time", "silent", "dead"]


def test_device_status_has_score_top_reasons_and_liveness(api: TestClient) -> None:
    body = api.get("/v1/devices/d-001/status", params={"now_ms": NOW}).json()
    assert body["score"] == 0.85 and body["state"] == "critical"
    assert [r["sensor"] for r in body["reasons"]] == ["temperature_c", "fan_cfm"]
    assert body["liveness"] == "late"  # the streams engine's liveness event wins over the derived state
    assert body["alert_id"] == f"d-001@{NOW - 30_000}" and body["acked"] is False
    missing = api.get("/v1/devices/nope/status")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_fleet_summary_counts_states_and_silent_share(api: TestClient) -> None:
    body = api.get("/v1/fleet/summary", params={"now_ms": NOW}).json()
    assert body["devices"] == 5
    assert body["by_state"] == {"ok": 2, "warning": 1, "critical": 2}
    assert body["by_liveness"] == {"on_time": 3, "silent": 1, "dead": 1}
    assert body["silent_share"] == 0.4


def test_ack_and_feedback(api: TestClient, seeded: Settings) -> None:
    alert = f"d-000@{NOW - 5000}"
    assert api.post(f"/v1/alerts/{alert}/ack", json={"user": "ops"}).json()["acked"] is True
    assert api.get("/v1/devices/d-000/status").json()["acked"] is True
    assert api.post("/v1/alerts/d-000@123/ack").status_code == 404
    assert api.post("/v1/alerts/no-timestamp/ack").status_code == 400
    assert api.post(f"/v1/alerts/{alert}/feedback", json={"verdict": "maybe"}).status_code == 400

    create_topics(seeded, [seeded.topic_events])
    response = api.post(f"/v1/alerts/{alert}/feedback", json={"verdict": "wrong", "user": "ops"})
    assert response.status_code == 202, response.text
    (message,) = consume(seeded, seeded.topic_events, 1, timeout=30)
    event = msgspec.json.decode(message.value(), type=Feedback)
    assert (event.device_id, event.alert_ts, event.verdict, event.user) == ("d-000", NOW - 5000, "wrong", "ops")
    assert message.key() == b"d-000"


def test_docs_are_served_offline_and_metrics_exposed(api: TestClient) -> None:
    page = api.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert api.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert "/v1/devices/{device_id}/readings" in api.get("/openapi.json").json()["paths"]
    metrics = api.get("/metrics").text
    assert 'fleetpulse_api_requests_total{route="/v1/fleet/summary",status="200"}' in metrics
    assert "fleetpulse_api_connect_dead_letter_records" in metrics
