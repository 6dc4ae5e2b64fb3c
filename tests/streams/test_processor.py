"""The batch processor without Kafka: replay guard, state round trip through the table bytes, outputs."""

from __future__ import annotations

import msgspec

from schemas import Reading, encode
from schemas.window_stats import WindowStats
from streams.processor import Processor, Record
from streams.state import decode_state

T0 = 1_795_000_020_000 - 1_795_000_020_000 % 60_000


def _records(devices: int, rounds: int, start_offset: int = 0) -> list[Record]:
    out = []
    for r in range(rounds):
        for d in range(devices):
            reading = Reading(
                device_id=f"d{d}", device_type="pc", ts=T0 + r * 5_000, seq=r, temperature_c=40.0 + r % 7, load_pct=10.0
            )
            out.append(Record(d % 3, start_offset + len(out), encode(reading)))
    return out


def _run(processor: Processor, table: dict[str, bytes], batch: list[Record]):
    result = processor.process(batch, lambda device_id, _partition: table.get(device_id))
    for device_id, (_, value) in result.writes.items():
        table[device_id] = value
    return result


def test_stats_count_every_reading_once_even_when_batches_are_replayed() -> None:
    records = _records(devices=4, rounds=60)  # 5 minutes of readings per device
    table: dict[str, bytes] = {}
    stats: list[WindowStats] = []
    processor = Processor(lateness_ms=10_000)
    for i in range(0, len(records), 37):
        stats += [
            msgspec.json.decode(v, type=WindowStats) for _, v in _run(processor, table, records[i : i + 37]).stats
        ]
    # a crash: a fresh process replays the last 100 records on top of the recovered table
    replay = Processor(lateness_ms=10_000)
    result = _run(replay, table, records[-100:])
    assert result.replayed == 100 and result.applied == 0 and result.stats == []
    for device in range(4):
        state = decode_state(table[f"d{device}"])
        assert state.readings == 60 and state.late == 0
        minute = [
            s
            for s in stats
            if s.device_id == f"d{device}" and s.sensor == "temperature_c" and s.window_end - s.window_start == 60_000
        ]
        open_readings = 12  # the newest minute is still open (watermark - lateness has not passed it)
        assert sum(s.count for s in minute) == 60 - open_readings


def test_bad_records_are_rejected_with_their_index_and_do_not_touch_state() -> None:
    table: dict[str, bytes] = {}
    good = _records(devices=1, rounds=1)[0]
    result = _run(Processor(lateness_ms=0), table, [Record(0, 0, b"{nope"), good._replace(offset=1)])
    assert [(i, r.error.reason) for i, r in result.rejects] == [(0, "bad_json")]
    assert result.applied == 1 and len(result.scores) == 1 and decode_state(table["d0"]).readings == 1


def test_state_per_device_stays_small() -> None:
    table: dict[str, bytes] = {}
    processor = Processor(lateness_ms=10_000)
    _run(processor, table, _records(devices=1, rounds=200))
    assert len(table["d0"]) < 8_000  # the model envelope: ~1.4 KB of it is the time-of-day profile


def _envelope(*readings: Reading, bad: bytes | None = None) -> bytes:
    parts = [encode(reading) for reading in readings] + ([bad] if bad is not None else [])
    return b"[" + b",".join(parts) + b"]"


def test_a_batch_envelope_applies_every_reading_and_rejects_only_its_bad_element() -> None:
    table: dict[str, bytes] = {}
    first, second = (
        Reading(device_id="d0", device_type="pc", ts=T0 + i * 5_000, seq=i, temperature_c=41.0) for i in range(2)
    )
    other = Reading(device_id="d1", device_type="pc", ts=T0, seq=0, temperature_c=45.0)
    bad = b'{"device_id": "d2", "device_type": "pc", "ts": 1, "seq": 0, "load_pct": 140}'
    message = Record(0, 7, _envelope(first, second, other, bad=bad))
    result = _run(Processor(lateness_ms=0), table, [message])
    # two readings of d0 under one offset are both applied (the replay guard looks at the stored state)
    assert result.applied == 3 and result.replayed == 0 and len(result.scores) == 3
    assert decode_state(table["d0"]).readings == 2 and decode_state(table["d1"]).readings == 1
    [(index, rejected)] = result.rejects
    assert (index, rejected.index, rejected.error.reason) == (0, 3, "out_of_range")
    assert rejected.payload == bad

    replay = _run(Processor(lateness_ms=0), table, [message])  # after a crash: nothing is counted twice
    assert replay.applied == 0 and replay.replayed == 3
    assert decode_state(table["d0"]).readings == 2


def test_a_message_redelivered_within_one_batch_is_counted_once() -> None:
    table: dict[str, bytes] = {}
    first, second = _records(devices=1, rounds=2)
    # after a rebalance Faust may hand the same records over again in the same batch
    result = _run(Processor(lateness_ms=0), table, [first, second, first, second])
    assert result.applied == 2 and result.replayed == 2
    assert decode_state(table["d0"]).readings == 2
