"""The scoring agent: readings in, scores out, bad records to the dead-letter topic."""

from __future__ import annotations

import time

import faust
from prometheus_client import start_http_server

from schemas import InvalidRecord, decode_reading, encode
from streams import baseline, metrics
from streams.app import app, readings_topic, scores_topic, settings
from streams.dead_letters import reject


@app.agent(readings_topic)
async def score_readings(stream: faust.StreamT) -> None:
    async for event in stream.events():
        metrics.records_in.labels(readings_topic.get_topic_name()).inc()
        started = time.perf_counter()
        try:
            reading = decode_reading(event.value)
        except InvalidRecord as error:
            await reject(event, error)
            continue
        score = baseline.score(reading)
        metrics.processing_seconds.observe(time.perf_counter() - started)
        metrics.event_lag_seconds.observe(max(0.0, time.time() - reading.ts / 1000))
        await scores_topic.send(key=reading.device_id.encode(), value=encode(score))
        metrics.records_out.labels(scores_topic.get_topic_name()).inc()


@app.task
async def serve_metrics() -> None:
    start_http_server(settings.worker_metrics_port, addr=settings.bind_host)
