"""The real bot process against a fake Telegram Bot API on loopback, talking to the real query API
process over HTTP, which reads the real local DynamoDB server (dynoxide) and produces feedback to the real Kafka."""

from __future__ import annotations

import time
from collections.abc import Iterator

import msgspec
import pytest
import requests
from pydantic import SecretStr

from core.settings import Settings
from core.topics import create_topics
from schemas.events import Feedback
from tests.api.seed import drop, seed
from tests.bot.fake_telegram import FakeTelegram
from tests.conftest import isolated_settings
from tests.harness import RealProcess, consume, free_port, wait_for

pytestmark = pytest.mark.integration

BOT_TOKEN = "123456:TEST-token"
# The bot asks the API about "now", so the fleet is seeded relative to the wall clock.
NOW = int(time.time() * 1000)


@pytest.fixture(scope="module")
def running(stack: Settings) -> Iterator[tuple[Settings, FakeTelegram]]:
    with FakeTelegram(BOT_TOKEN) as telegram:
        port = free_port()
        settings = isolated_settings(
            stack,
            api_port=port,
            api_url=f"http://127.0.0.1:{port}",
            api_token=SecretStr("api-key"),
            telegram_api_url=telegram.url,
            telegram_bot_token=SecretStr(BOT_TOKEN),
            telegram_chat_ids="42",
        )
        seed(settings, NOW)
        create_topics(settings, [settings.topic_events])
        api = RealProcess(settings, "api", log_name=f"{settings.worker_app_id}-api").start()
        wait_for(lambda: _up(settings), 60, "the query API")
        bot = RealProcess(settings, "bot", "--poll-seconds", "2", log_name=f"{settings.worker_app_id}-bot").start()
        try:
            yield settings, telegram
        finally:
            bot.stop()
            api.stop()
            drop(settings)


def _up(settings: Settings) -> bool:
    try:
        return requests.get(f"{settings.api_url}/healthz", timeout=1).ok
    except requests.RequestException:
        return False


def _ask(telegram: FakeTelegram, text: str, chat_id: int = 42) -> str:
    before = len(telegram.replies(chat_id))
    telegram.say(text, chat_id)
    wait_for(lambda: len(telegram.replies(chat_id)) > before, 30, f"a reply to {text!r}")
    return telegram.replies(chat_id)[before]


def test_status_fleet_and_silent(running: tuple[Settings, FakeTelegram]) -> None:
    _, telegram = running
    status = _ask(telegram, "/status d-001")
    assert "d-001: CRITICAL score 0.85, late" in status
    assert status.index("temperature_c") < status.index("fan_cfm")  # worst reason first
    fleet = _ask(telegram, "/fleet")
    assert "5 devices: ok 2, warning 1, critical 2" in fleet and "silent > 10 min" in fleet
    silent = _ask(telegram, "/silent")
    assert "d-003: silent" in silent and "d-004: dead" in silent and "d-000" not in silent


def test_ack_and_feedback_become_an_ack_and_a_label_event(running: tuple[Settings, FakeTelegram]) -> None:
    settings, telegram = running
    alert = f"d-002@{NOW - 60_000}"
    assert _ask(telegram, f"/ack {alert}") == f"acknowledged {alert}"
    assert "(acked)" in _ask(telegram, "/status d-002")
    assert _ask(telegram, f"/feedback {alert} wrong") == f"thanks: {alert} marked wrong"
    (message,) = consume(settings, settings.topic_events, 1, timeout=30)
    event = msgspec.json.decode(message.value(), type=Feedback)
    assert (event.device_id, event.alert_ts, event.verdict, event.user) == ("d-002", NOW - 60_000, "wrong", "ops")


def test_bad_input_gets_an_answer_not_a_crash(running: tuple[Settings, FakeTelegram]) -> None:
    _, telegram = running
    assert _ask(telegram, "/status").startswith("usage:")
    assert "no status for device ghost" in _ask(telegram, "/status ghost")
    assert "alert id must look like" in _ask(telegram, "/ack not-an-alert")
    assert _ask(telegram, "/feedback d-000@1 maybe").startswith("usage:")
    assert "/status <device>" in _ask(telegram, "hello")
    assert _ask(telegram, "/status d-000", chat_id=99) == "this chat is not allowed to use this bot"
    assert "d-000: CRITICAL" in _ask(telegram, "/status d-000")  # still alive and answering
