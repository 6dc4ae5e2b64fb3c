"""The liveness sweep timer: judges every device this worker owns (on_time → late → silent → dead) against its
partition's clock, emits each transition as a device event and persists it, then refreshes the metrics
snapshot (streams/liveness.py and kpis.py hold the logic)."""

from __future__ import annotations

import heapq
import logging

from faust.types import TP

from schemas import encode
from schemas.events import Liveness
from streams import kpis, metrics
from streams.app import app, events_topic, readings_topic, settings
from streams.device_store import applied, commit_states, device_count, load_state, states, write_state
from streams.liveness import DEAD, STATES, sweep
from streams.pipeline import active_partitions, batch_lock, liveness_config, outputs, processor, settled
from streams.processor import copy_live, live_from_state
from streams.state import decode_state, encode_state
from streams.storage import score_record
from streams.windows import SENSOR_NAMES

log = logging.getLogger(__name__)
_index_assignment: frozenset[int] | None = None


@app.timer(interval=settings.worker_liveness_sweep_seconds)
async def liveness_sweep() -> None:
    async with batch_lock:
        await _sweep()


def _sync_index() -> None:
    """After a rebalance (and recovery), own exactly the devices of our active partitions, so the sweep also
    judges devices that stopped sending before this worker took them over."""
    global _index_assignment
    if not settled():
        return
    active = active_partitions()
    if active == _index_assignment:
        return
    index = processor.live
    for partition in [p for p in processor.clocks.clocks if p not in active]:
        processor.clocks.forget(partition)
    index.clear()  # rebuilt from the recovered table: it is the truth for the partitions we now own
    for device_id, value in states():
        state = decode_state(value)
        if state.partition in active:
            index[device_id] = live_from_state(state)
            # a partition's clock starts from its devices' stored times, so silence is judged even if none
            # reports (from their median: one stored outlier cannot keep its neighbours dead)
            processor.clocks.observe(state.partition, state.last_seen, device_id)
    for device_id in [d for d in processor.latest if d not in index]:
        del processor.latest[device_id]
        processor.alerts.forget(device_id)
    for device_id in [d for d in processor.last_window if d not in index]:
        del processor.last_window[device_id]
    _index_assignment = active
    log.info("liveness index: %d devices on partitions %s", len(index), sorted(active))


async def _sweep() -> None:
    _sync_index()
    now = processor.clocks.now()
    if now:
        persist = []
        for change in sweep(processor.live, now, liveness_config):
            live = change.live
            event = Liveness(
                device_id=change.device_id,
                ts=change.at_ms,
                state=STATES[change.state],  # type: ignore[arg-type]
                previous_state=STATES[change.previous],  # type: ignore[arg-type]
                last_seen_ts=live.last_seen,
                expected_interval_ms=int(live.cadence_ms) if live.cadence_ms >= 1 else None,
            )
            outputs.produce_to(events_topic.get_topic_name(), live.partition, change.device_id.encode(), encode(event))
            metrics.liveness_transitions.labels(STATES[change.state]).inc()
            metrics.records_out.labels(events_topic.get_topic_name()).inc()
            if change.state == DEAD:
                metrics.device_lifespan_seconds.observe((live.last_seen - live.first_seen) / 1000)
            persist.append((change, _store_liveness(change.device_id, change.state)))
        await outputs.flush()  # the events first, then the state that says they were sent
        for change, stored in persist:
            raw = load_state(change.device_id)
            if raw is not None:  # persisted, so a restart does not emit the transition again
                state = decode_state(raw)
                copy_live(state, change.live)
                if stored:
                    state.stored_liveness = change.state
                write_state(change.device_id, change.live.partition, encode_state(state))
        await commit_states()
    metrics.collector.snapshot = _snapshot(now)


def _store_liveness(device_id: str, state: int) -> bool:
    """Under the aggregated policy a liveness change rewrites the device's status row: its newest score with
    the new verdict (the row is otherwise written only when the score matters). False when nothing was sent."""
    storage, newest = processor.storage, processor.latest.get(device_id)
    if storage is None or not storage.select_scores or newest is None:
        return False
    outputs.produce_to(settings.topic_scores_store, -1, device_id.encode(), score_record(newest[1], state))
    metrics.records_out.labels(settings.topic_scores_store).inc()
    return True


def _snapshot(now: dict[int, int]) -> metrics.Snapshot:
    latest, live = processor.latest, processor.live
    # The device alert sees a held alerting score (streams/alert_hold.py): the top devices are ranked by it too.
    alerts = processor.alerts
    shown = [(device_id, reading, alerts.shown(device_id, score)) for device_id, (reading, score) in latest.items()]
    ranked = shown
    if settings.worker_device_metrics == "top":
        ranked = heapq.nlargest(settings.worker_device_metrics_top_k, shown, key=lambda row: row[2].score)
    rows, reasons, windows = [], [], []
    for device_id, reading, score in ranked:
        values = {name: float(v) for name in SENSOR_NAMES if (v := getattr(reading, name)) is not None}
        state = live[device_id].state if device_id in live else 0
        rows.append((device_id, values, score.score, state))
        reasons.append((device_id, {r.sensor: r.contribution for r in reversed(score.reasons)}))  # max wins
        windows.append((device_id, processor.last_window.get(device_id, {})))
    fleet = kpis.compute(live.values(), now)
    lag, topic, active = {}, readings_topic.get_topic_name(), active_partitions()
    done = applied(topic, set(active))  # every offset up to it applied (streams/continuity.py)
    for partition in active:
        high = app.consumer.highwater(TP(topic, partition))
        if high is not None:
            lag[partition] = max(0, high - done.get(partition, -1) - 1)
    recovery = app.tables.recovery
    return metrics.Snapshot(
        devices=rows,
        reasons=reasons,
        windows=windows,
        by_state=fleet.by_state,
        at_risk=sum(1 for _, _, score in shown if score.score >= 0.5),
        kpis={
            "silent_over_10m_ratio": fleet.silent_over_10m_share,
            "report_interval_mean_seconds": fleet.report_interval_mean_s,
            "report_interval_median_seconds": fleet.report_interval_median_s,
            "lifespan_mean_seconds": fleet.lifespan_mean_s,
            "lifespan_median_seconds": fleet.lifespan_median_s,
        },
        consumer_lag=lag,
        table_keys={"devices": device_count(), "liveness_index": len(live)},
        recovery_remaining={
            "active": recovery.active_remaining_total(),
            "standby": recovery.standby_remaining_total(),
        },
        recovery_completed=int(recovery.completed.is_set()),
    )
