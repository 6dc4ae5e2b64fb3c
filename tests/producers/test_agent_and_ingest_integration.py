"""The host agent and phone ingestion on the real local Kafka: a real reading of this machine lands on
the topic and validates; Sensor Logger pushes land mapped; bad or unauthenticated pushes are refused
with the right status and counted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import requests

from core.settings import Settings
from core.topics import create_topics
from schemas import DeadLetter, decode_reading
from tests.conftest import isolated_settings
from tests.harness import RealProcess, consume, free_port, start_ingest

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parent / "fixtures"
ANDROID = json.loads((FIXTURES / "sensor_logger_android.json").read_text())
IOS = json.loads((FIXTURES / "sensor_logger_ios.json").read_text())
# A third phone, its token keyed by the device id FleetPulse shows (phone-<deviceId>), not the app's.
SHOWN = {**json.loads(json.dumps(IOS)), "deviceId": "E1F2-shown-id"}
TOKENS = {
    ANDROID["deviceId"]: "android-token-0123456789",
    IOS["deviceId"]: "ios-token-0123456789ab",
    f"phone-{SHOWN['deviceId']}": "shown-token-0123456789",
}


def test_one_real_reading_of_this_machine_lands_and_validates(stack: Settings) -> None:
    settings = isolated_settings(stack, agent_device_id="host-under-test")
    create_topics(settings, [settings.topic_readings])
    run = RealProcess(settings, "agent", "--once", log_name=f"agent-{free_port()}").start()
    assert run.process is not None and run.process.wait(60) == 0, run.log()
    assert "this host lacks" in run.log()  # capabilities reported once
    [message] = consume(settings, settings.topic_readings, 1)
    reading = decode_reading(message.value())
    assert message.key() == b"host-under-test" and reading.device_id == "host-under-test"
    assert reading.load_pct is not None and reading.memory_pct is not None


@pytest.fixture(scope="module")
def ingest(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, str, RealProcess]]:
    tokens = tmp_path_factory.mktemp("ingest") / "tokens.json"
    tokens.write_text(json.dumps(TOKENS))
    settings = isolated_settings(
        stack,
        ingest_port=free_port(),
        ingest_metrics_port=free_port(),
        ingest_tokens_file=str(tokens),
        ingest_max_body_bytes=4096,
        ingest_rate_per_minute=7,
    )
    create_topics(settings, [settings.topic_readings, settings.topic_dead_letters])
    server, url = start_ingest(settings, f"ingest-{settings.ingest_port}")
    yield settings, url, server
    server.stop()


def _push(url: str, body: object, token: str | None, raw: bytes | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(f"{url}/push", data=raw if raw is not None else json.dumps(body), headers=headers, timeout=10)


def _rejected(settings: Settings) -> dict[str, float]:
    text = requests.get(f"http://127.0.0.1:{settings.ingest_metrics_port}/metrics", timeout=5).text
    return {m[0]: float(m[1]) for m in re.findall(r'fleetpulse_ingest_rejected_total\{reason="(\w+)"\} (\S+)', text)}


def test_sensor_logger_pushes_land_mapped_after_kafka_acknowledged(ingest: tuple) -> None:
    settings, url, _ = ingest
    android = _push(url, ANDROID, TOKENS[ANDROID["deviceId"]])
    ios = _push(url, IOS, TOKENS[IOS["deviceId"]])
    assert android.status_code == 200 and android.json()["readings"] == 1, android.text
    assert ios.status_code == 200, ios.text
    by_id = {r.device_id: r for r in (decode_reading(m.value()) for m in consume(settings, settings.topic_readings, 2))}
    phone = by_id[f"phone-{ANDROID['deviceId']}"]
    assert phone.battery_pct == 83.0 and phone.battery_temperature_c == 36.5 and phone.battery_voltage_v == 4.12
    assert by_id[f"phone-{IOS['deviceId']}"].thermal_state == "serious"


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("no_token", 401, "unauthenticated"),
        ("wrong_token", 401, "unauthenticated"),
        ("other_device", 403, "wrong_device"),
        ("bad_json", 400, "bad_json"),
        ("not_a_push", 400, "bad_payload"),
        ("implausible", 422, "out_of_range"),
        ("too_large", 413, "too_large"),
        ("milliseconds", 422, "not_nanoseconds"),
        ("far_future", 422, "future_time"),
    ],
)
def test_bad_pushes_are_refused_with_a_clear_status_and_counted(
    ingest: tuple, case: str, status: int, reason: str
) -> None:
    settings, url, server = ingest
    token = TOKENS[IOS["deviceId"]]
    before = _rejected(settings).get(reason, 0)
    if case == "no_token":
        response = _push(url, IOS, None)
    elif case == "wrong_token":
        response = _push(url, IOS, "not-a-token-at-all")
    elif case == "other_device":
        response = _push(url, ANDROID, token)
    elif case == "bad_json":
        response = _push(url, None, token, raw=b'{"messageId": 1, "payload": [')
    elif case == "not_a_push":
        response = _push(url, {"messageId": "x", "payload": 3}, token)
    elif case == "implausible":
        body = json.loads(json.dumps(IOS))
        body["payload"][0]["values"]["batteryLevel"] = 7.5  # 750 %: a unit bug
        response = _push(url, body, token)
    elif case in ("milliseconds", "far_future"):  # the shown-id phone: the iOS one's rate limit is spent
        body = json.loads(json.dumps(SHOWN))
        for sample in body["payload"]:
            sample["time"] = sample["time"] // 1_000_000 if case == "milliseconds" else 3_500_000_000 * 10**9
        response = _push(url, body, TOKENS[f"phone-{SHOWN['deviceId']}"])
    else:
        response = _push(url, None, token, raw=b"x" * 10_000)
    assert response.status_code == status, response.text
    assert response.json()["reason"] == reason and response.json()["error"]
    if case == "milliseconds":
        assert "not nanoseconds" in response.json()["error"] and "milliseconds" in response.json()["error"]
    assert _rejected(settings)[reason] == before + 1
    assert server.alive()


def test_a_token_keyed_by_the_shown_device_id_is_accepted(ingest: tuple) -> None:
    _, url, _ = ingest
    response = _push(url, SHOWN, TOKENS[f"phone-{SHOWN['deviceId']}"])
    assert response.status_code == 200 and response.json()["device_id"] == f"phone-{SHOWN['deviceId']}", response.text


def test_authenticated_garbage_is_dead_lettered_and_the_rate_limit_applies(ingest: tuple) -> None:
    settings, url, _ = ingest
    letters = consume(settings, settings.topic_dead_letters, 1)
    letter = msgspec.json.decode(letters[0].value(), type=DeadLetter)
    headers = dict(letters[0].headers() or [])
    assert letter.stage == "ingest" and letter.reason and letter.payload
    # the same headers as the worker's dead letters, so one consumer reads every stage's reasons
    assert headers["x-dead-letter-reason"] == letter.reason.encode()
    assert headers["x-dead-letter-stage"] == b"ingest"
    token = TOKENS[ANDROID["deviceId"]]
    statuses = [_push(url, ANDROID, token).status_code for _ in range(7)]
    assert 429 in statuses
    assert _rejected(settings).get("rate_limited", 0) >= 1
