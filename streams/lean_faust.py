"""Faust's per-message work the worker does not use, cut (profiled at one reading per message, where Faust's
per-message path costs more than our processing; `python -m bench.worker_profile`).

- `RawSchema`: our topics carry raw bytes and schemas/ decodes them per batch, so an event is made from the
  message's key and value as they are, without the serializer registry's two codec look-ups per message.
- `BatchMonitor`: Faust's Monitor sensor updates about a dozen per-message counters and timestamps (four
  hooks per message) for its own /stats page, which nothing here reads; the worker's figures are its
  Prometheus metrics, counted per batch (streams/metrics.py). Every other Monitor figure (commits, sends,
  tables, rebalances, assignments) is kept.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.sensors import Monitor
from faust.serializers.schemas import DecodeFunction
from faust.types import TP, AppT, EventT, Message, StreamT


class RawSchema(faust.Schema):
    """key and value bytes straight into the event (the topic is raw bytes both ways)."""

    def compile(self, app: AppT, **_: Any) -> DecodeFunction:
        create_event = app.create_event

        async def decode(message: Message, *, propagate: bool = False) -> EventT:
            return create_event(message.key, message.value, message.headers, message)

        return decode


class BatchMonitor(Monitor):
    """Faust's Monitor without its four per-message hooks (see the module docstring)."""

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        return None

    def on_stream_event_in(self, tp: TP, offset: int, stream: StreamT, event: EventT) -> dict | None:
        return None

    def on_stream_event_out(
        self, tp: TP, offset: int, stream: StreamT, event: EventT, state: dict | None = None
    ) -> None:
        return None

    def on_message_out(self, tp: TP, offset: int, message: Message) -> None:
        return None
