"""A fake Telegram Bot API on loopback: serves queued updates to getUpdates (long polling, offsets) and
records every sendMessage, so the real bot process can be tested end to end without Telegram."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeTelegram:
    def __init__(self, token: str) -> None:
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self._next_id = 1
        self._cond = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeTelegram:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def say(self, text: str, chat_id: int = 42, username: str = "ops") -> int:
        """Queue a user's message as an update; returns its update_id."""
        with self._cond:
            update_id = self._next_id
            self._next_id += 1
            self.updates.append({"update_id": update_id, "message": {
                "message_id": update_id, "date": int(time.time()), "text": text,
                "chat": {"id": chat_id, "type": "private"}, "from": {"id": 7, "username": username}}})  # fmt: skip
            self._cond.notify_all()
        return update_id

    def replies(self, chat_id: int = 42) -> list[str]:
        with self._cond:
            return [m["text"] for m in self.sent if m["chat_id"] == chat_id]

    def _get_updates(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        offset, timeout = body.get("offset", 0), min(float(body.get("timeout", 0)), 5.0)
        deadline = time.monotonic() + timeout
        with self._cond:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]  # confirmed: forgotten
            while not self.updates and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            return list(self.updates)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                prefix, _, method = self.path.lstrip("/").partition("/")
                fake.calls.append(method)
                if prefix != f"bot{fake.token}":
                    return self._answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                if method == "getUpdates":
                    return self._answer(200, {"ok": True, "result": fake._get_updates(body)})
                if method == "sendMessage":
                    if not body.get("text") or "chat_id" not in body:
                        return self._answer(400, {"ok": False, "description": "Bad Request: message text is empty"})
                    with fake._cond:
                        fake.sent.append(body)
                    return self._answer(200, {"ok": True, "result": {"message_id": len(fake.sent), **body}})
                return self._answer(404, {"ok": False, "description": "Not Found"})

        return Handler
