"""The stepped per-message wait_first (streams/lean_faust.py) keeps Faust's outcomes: a callback that does
not wait finishes in place, one that waits still finishes, a suspension still interrupts (cancels) one that
waits, and a callback's error still reaches the fetch loop."""

from __future__ import annotations

import asyncio

import pytest
from mode import Service

from streams.lean_faust import SteppedWaitFirst


class Fetcher(SteppedWaitFirst, Service):
    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = asyncio.Event()


async def test_a_callback_that_does_not_wait_runs_in_place() -> None:
    fetcher, ran = Fetcher(), []

    async def deliver() -> str:
        ran.append(True)
        return "delivered"

    result = await fetcher.wait_first(deliver(), fetcher.suspend_flow.wait())
    assert result.results == ["delivered"] and not result.stopped and ran


async def test_a_callback_that_waits_is_resumed_until_it_finishes() -> None:
    fetcher = Fetcher()
    room = asyncio.Event()

    async def deliver() -> str:
        await room.wait()  # a full stream buffer
        await asyncio.sleep(0)
        return "delivered"

    asyncio.get_running_loop().call_later(0.05, room.set)
    result = await fetcher.wait_first(deliver(), fetcher.suspend_flow.wait())
    assert "delivered" in result.results


async def test_suspension_still_interrupts_a_callback_that_waits() -> None:
    fetcher, seen = Fetcher(), []

    async def deliver() -> None:
        try:
            await asyncio.Event().wait()  # never room
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    asyncio.get_running_loop().call_later(0.05, fetcher.suspend_flow.set)
    await asyncio.wait_for(fetcher.wait_first(deliver(), fetcher.suspend_flow.wait()), timeout=5)
    await asyncio.sleep(0)
    assert seen == ["cancelled"]


@pytest.mark.parametrize("waits", [False, True])
async def test_a_callback_error_reaches_the_caller(waits: bool) -> None:
    fetcher = Fetcher()

    async def deliver() -> None:
        if waits:
            await asyncio.sleep(0.01)
        raise ValueError("bad message")

    with pytest.raises(ValueError, match="bad message"):
        await fetcher.wait_first(deliver(), fetcher.suspend_flow.wait())


async def test_while_suspended_faust_s_own_path_is_taken() -> None:
    fetcher = Fetcher()
    fetcher.suspend_flow.set()

    async def deliver() -> str:
        await asyncio.Event().wait()
        return "never"

    result = await asyncio.wait_for(fetcher.wait_first(deliver(), fetcher.suspend_flow.wait()), timeout=5)
    assert "never" not in result.results


async def test_the_worker_consumer_waits_briefly_for_a_fetch_with_no_new_data() -> None:
    from streams.app import app
    from streams.lean_faust import FETCH_MAX_WAIT_MS, LeanConsumerThread

    thread = app.consumer._thread
    assert isinstance(thread, LeanConsumerThread)
    consumer = thread._create_worker_consumer(app.transport)
    try:
        # Faust's own consumer would hold the readings behind a 1.5 s long-poll of the quiet topics
        assert consumer._fetch_max_wait_ms == FETCH_MAX_WAIT_MS < 1500
    finally:
        await consumer.stop()
