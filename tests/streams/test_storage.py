"""The storage policy without Kafka: what reaches the store-bound topics, and that it stays small."""

from __future__ import annotations

import msgspec

from bench.cost_bench import item_bytes
from schemas import Reading, Score, encode
from streams.liveness import ON_TIME, SILENT
from streams.processor import Processor, Record
from streams.state import DeviceState
from streams.storage import StoragePolicy

T0 = 1_795_000_020_000 - 1_795_000_020_000 % 60_000
VALUES = {"temperature_c": 45.0, "power_w": 120.0, "load_pct": 30.0, "voltage_v": 12.0, "fan_cfm": 40.0,
          "clock_ghz": 3.2}  # fmt: skip
POLICY = StoragePolicy(select_scores=True, delta=0.1, heartbeat_ms=300_000)


def _score(ts: int, value: float, drift: bool | None = None) -> Score:
    return Score(device_id="d", ts=ts, seq=0, score=value, model="baseline", scored_at=ts, drift=drift)


def test_a_score_is_stored_when_it_matters_and_otherwise_once_per_heartbeat() -> None:
    state = DeviceState()
    kept = [POLICY.keep(state, _score(T0, 0.2), ON_TIME) is not None]  # the first
    kept.append(POLICY.keep(state, _score(T0 + 5_000, 0.35), ON_TIME) is not None)  # below the floor: noise
    kept.append(POLICY.keep(state, _score(T0 + 10_000, 0.0), ON_TIME) is not None)  # and back
    kept.append(POLICY.keep(state, _score(T0 + 15_000, 0.55), ON_TIME) is not None)  # warning band
    kept.append(POLICY.keep(state, _score(T0 + 20_000, 0.62), ON_TIME) is not None)  # < delta
    kept.append(POLICY.keep(state, _score(T0 + 25_000, 0.66), ON_TIME) is not None)  # >= delta above the floor
    kept.append(POLICY.keep(state, _score(T0 + 30_000, 0.66), SILENT) is not None)  # liveness changed
    kept.append(POLICY.keep(state, _score(T0 + 35_000, 0.66), SILENT) is not None)  # nothing new
    kept.append(POLICY.keep(state, _score(T0 + 335_000, 0.66), SILENT) is not None)  # heartbeat
    kept.append(POLICY.keep(state, _score(T0 + 340_000, 0.66, drift=True), SILENT) is not None)  # drift
    assert kept == [True, False, False, True, False, True, True, False, True, True]


def test_every_stored_record_carries_the_peak_since_the_previous_one() -> None:
    state = DeviceState()
    POLICY.keep(state, _score(T0, 0.0), ON_TIME)
    for i, value in enumerate([0.1, 0.42, 0.05, 0.0]):
        assert POLICY.keep(state, _score(T0 + (i + 1) * 5_000, value), ON_TIME) is None
    record = msgspec.json.decode(POLICY.keep(state, _score(T0 + 300_000, 0.01), ON_TIME) or b"")
    assert (record["score"], record["peak_score"], record["peak_ts"]) == (0.01, 0.42, T0 + 10_000)
    next_record = msgspec.json.decode(POLICY.keep(state, _score(T0 + 600_000, 0.02), ON_TIME) or b"")
    assert next_record["peak_score"] == 0.02  # a new interval starts after each stored record


def test_every_alert_band_crossing_is_stored_even_below_the_delta() -> None:
    state = DeviceState()
    POLICY.keep(state, _score(T0, 0.66), ON_TIME)
    assert POLICY.keep(state, _score(T0 + 5_000, 0.71), ON_TIME) is not None  # crosses the 0.7 alert threshold
    assert POLICY.keep(state, _score(T0 + 10_000, 0.69), ON_TIME) is not None  # and back
    record = msgspec.json.decode(POLICY.keep(state, _score(T0 + 15_000, 0.81), SILENT) or b"")
    assert record["score"] == 0.81 and record["liveness"] == "silent" and record["device_id"] == "d"


def _readings(minutes: int) -> list[Record]:
    out = []
    for i in range(minutes * 12):
        reading = Reading(device_id="pc-1", device_type="pc", ts=T0 + i * 5_000, seq=i, **VALUES)  # type: ignore[arg-type]
        out.append(Record(0, i, encode(reading)))
    return out


def test_the_worker_stores_one_row_per_closed_minute_and_few_scores_of_a_steady_device() -> None:
    table: dict[str, bytes] = {}
    processor = Processor(lateness_ms=10_000, storage=POLICY)
    records = _readings(60)
    stored_scores, rows = [], []
    for i in range(0, len(records), 50):
        result = processor.process(records[i : i + 50], lambda d, _p: table.get(d))
        table.update({d: v for d, (_, v) in result.writes.items()})
        stored_scores += result.stored_scores
        rows += [msgspec.json.decode(v) for _, v in result.stored_windows]
        assert len(result.scores) == len(records[i : i + 50])  # the full stream is untouched
    assert [r["ts"] for r in rows] == [T0 + m * 60_000 for m in range(59)]  # the open minute is not closed yet
    assert {len(r["stats"]) for r in rows} == {6} and all(r["stats"]["temperature_c"]["n"] == 12 for r in rows)
    assert len(stored_scores) <= 60 // 5 + 3, len(stored_scores)  # heartbeat every 5 min, plus warm-up changes
    assert max(item_bytes(r | {"expires_at": 1_800_000_000}) for r in rows) <= 1024  # one write unit each

    replay = Processor(lateness_ms=10_000, storage=POLICY).process(records[-100:], lambda d, _p: table.get(d))
    assert replay.stored_scores == [] and replay.stored_windows == []  # the replay guard covers them too


def test_keep_everything_sends_no_selected_scores_but_still_window_rows() -> None:
    processor = Processor(lateness_ms=10_000, storage=StoragePolicy(select_scores=False))
    result = processor.process(_readings(3), lambda d, _p: None)
    assert result.stored_scores == [] and len(result.stored_windows) == 2
