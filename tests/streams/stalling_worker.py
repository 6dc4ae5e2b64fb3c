"""The real worker, except that once readings partition 0 has applied records, Faust's consumer stops
delivering it (Faust's own `pause_partitions`): the failure the stall watch exists for. Run as a child
process by tests/streams/test_continuity_integration.py: `python -m tests.streams.stalling_worker`."""

from __future__ import annotations

import sys

from faust.types import TP

from streams.app import app, readings_topic
from streams.device_store import applied
from streams.worker import CONSTRUCTS  # noqa: F401  (registers the real worker's agents, timers and views)


@app.timer(interval=0.2)
async def stop_delivering_partition_0() -> None:
    topic = readings_topic.get_topic_name()
    tp = TP(topic, 0)
    if tp in app.consumer.assignment() and 0 in applied(topic, {0}):
        app.consumer.pause_partitions([tp])


if __name__ == "__main__":
    sys.argv = ["stalling-worker", "worker", "--loglevel", "info"]
    app.main()
