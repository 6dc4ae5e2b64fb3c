"""The two Telegram Bot API methods the bot needs, over plain HTTP (the base URL is a setting, so tests
point it at a fake on loopback)."""

from __future__ import annotations

from typing import Any

import httpx


class TelegramError(RuntimeError):
    pass


class TelegramClient:
    def __init__(self, base_url: str, token: str, http: httpx.Client | None = None) -> None:
        self.url = f"{base_url.rstrip('/')}/bot{token}"
        self.http = http or httpx.Client(timeout=httpx.Timeout(10.0, read=60.0))

    def _call(self, method: str, payload: dict[str, Any], timeout: float | None = None) -> Any:
        try:
            response = self.http.post(f"{self.url}/{method}", json=payload, timeout=timeout)
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise TelegramError(f"{method}: {type(error).__name__}: {error}") from error
        if not body.get("ok"):
            raise TelegramError(f"{method}: {response.status_code} {body.get('description', body)}")
        return body["result"]

    def get_updates(self, offset: int | None, poll_seconds: int) -> list[dict[str, Any]]:
        """Long polling: Telegram holds the request up to poll_seconds until an update arrives."""
        payload: dict[str, Any] = {"timeout": poll_seconds, "allowed_updates": ["message"]}
        if offset is not None:
            payload["offset"] = offset
        return self._call("getUpdates", payload, timeout=poll_seconds + 10)

    def send_message(self, chat_id: int, text: str) -> None:
        self._call("sendMessage", {"chat_id": chat_id, "text": text[:4096]})
