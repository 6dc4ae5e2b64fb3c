"""The long-polling loop: getUpdates → reply → sendMessage, forever; errors are logged and retried."""

from __future__ import annotations

import logging
import time

from bot.api_client import QueryApi
from bot.handlers import reply, user_name
from bot.telegram import TelegramClient, TelegramError

log = logging.getLogger("fleetpulse.bot")


class Bot:
    def __init__(self, telegram: TelegramClient, api: QueryApi, allowed_chats: set[int] | None = None) -> None:
        self.telegram, self.api = telegram, api
        self.allowed_chats = allowed_chats or set()
        self.offset: int | None = None

    def poll_once(self, poll_seconds: int) -> int:
        """Handle one batch of updates; returns how many. The offset moves past each handled update so
        a restart does not answer twice (Telegram forgets updates below the offset)."""
        updates = self.telegram.get_updates(self.offset, poll_seconds)
        for update in updates:
            self.offset = update["update_id"] + 1
            message = update.get("message") or {}
            chat_id, text = (message.get("chat") or {}).get("id"), message.get("text")
            if chat_id is None or text is None:
                continue
            if self.allowed_chats and chat_id not in self.allowed_chats:
                self.telegram.send_message(chat_id, "this chat is not allowed to use this bot")
                continue
            self.telegram.send_message(chat_id, reply(self.api, text, user_name(message)))
        return len(updates)

    def run(self, poll_seconds: int = 25) -> None:
        backoff = 1.0
        while True:
            try:
                self.poll_once(poll_seconds)
                backoff = 1.0
            except TelegramError as error:
                log.warning("Telegram: %s; retrying in %.0fs", error, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 60.0)
