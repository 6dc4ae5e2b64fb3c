"""The batch processor without Kafka: replay guard, state round trip through the table bytes, outputs."""

from __future__ import annotations

import msgspec

from core.partitioning import partition_for
from schemas import Reading, encode
from schemas.admission import TimeBounds
from schemas.events import FailureLabel
from schemas.window_stats import WindowStats
from streams.admission import Admission
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
    # The model envelope: ~1.4 KB of it is the time-of-day profile, ~0.8 KB the records' run lengths.
    assert len(table["d0"]) < 9_000


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


# --- admission: event time and partition (streams/admission.py) ---------------------------------------

PARTITIONS = 3


def _admitting() -> Processor:
    return Processor(lateness_ms=0, admission=Admission(TimeBounds(300_000, 7 * 86_400_000), PARTITIONS))


def _on_its_partition(reading: Reading, offset: int, timestamp_ms: int | None = T0) -> Record:
    partition = partition_for(reading.device_id.encode(), PARTITIONS)
    return Record(partition, offset, encode(reading), reading.device_id.encode(), timestamp_ms)


def _pc(device_id: str, ts: int, seq: int = 0) -> Reading:
    return Reading(device_id=device_id, device_type="pc", ts=ts, seq=seq, temperature_c=45.0)


def test_readings_far_from_their_records_time_are_dead_lettered_with_their_own_reason() -> None:
    table: dict[str, bytes] = {}
    batch = [
        _on_its_partition(_pc("d0", T0 + 60_000), 0),  # a minute ahead of its record: a clock a bit fast
        _on_its_partition(_pc("d1", 3_500_000_000_000), 1),  # 2080
        _on_its_partition(_pc("d2", 5), 2),  # 1970
        _on_its_partition(_pc("d3", T0 - 86_400_000), 3, timestamp_ms=T0 - 86_400_000 + 1),  # a replayed backlog
    ]
    result = _run(_admitting(), table, batch)
    assert [(i, r.index, r.error.reason) for i, r in result.rejects] == [(1, None, "future_time"), (2, None, "too_old")]
    assert result.rejects[0][1].payload == batch[1].value
    assert result.applied == 2 and set(table) == {"d0", "d3"}, "a refused reading touches no state"


def test_without_a_record_timestamp_the_workers_clock_is_the_reference() -> None:
    result = _run(_admitting(), {}, [_on_its_partition(_pc("d0", T0), 0, timestamp_ms=None)])
    assert [r.error.reason for _, r in result.rejects] == ["too_old"], "T0 is in 2026-11, weeks before now"


def test_a_reading_on_another_devices_partition_is_dead_lettered_wrong_partition() -> None:
    table: dict[str, bytes] = {}
    right = _on_its_partition(_pc("d0", T0), 0)
    wrong = right._replace(partition=(right.partition + 1) % PARTITIONS, offset=1)  # keyed by something else
    result = _run(_admitting(), table, [right, wrong])
    [(index, rejected)] = result.rejects
    assert (index, rejected.error.reason) == (1, "wrong_partition")
    assert f"partition {right.partition} of {PARTITIONS}" in rejected.error.error
    assert decode_state(table["d0"]).readings == 1 and decode_state(table["d0"]).partition == right.partition


def test_a_label_on_another_devices_partition_is_dead_lettered_not_learned() -> None:
    table: dict[str, bytes] = {}
    processor = _admitting()
    _run(processor, table, [_on_its_partition(_pc("d0", T0 + 5_000 * k, k), k) for k in range(20)])
    home = partition_for(b"d0", PARTITIONS)
    label = encode(FailureLabel(device_id="d0", ts=T0 + 100_000, mode="overload", onset_ts=T0, failure_ts=T0 + 95_000))
    before = dict(table)
    result = processor.learn([Record((home + 1) % PARTITIONS, 7, label)], lambda d, _p: table.get(d))
    [(index, error)] = result.rejects
    assert (index, error.reason) == (0, "wrong_partition") and f"partition {home} of {PARTITIONS}" in error.error
    assert result.writes == {} and table == before, "a misplaced label touches no state"
    at_home = processor.learn([Record(home, 7, label)], lambda d, _p: table.get(d))
    assert not at_home.rejects and set(at_home.writes) == {"d0"}


def test_an_envelope_dead_letters_its_refused_elements_with_their_array_position() -> None:
    table: dict[str, bytes] = {}
    home = partition_for(b"d0", PARTITIONS)
    stranger = next(f"x{i}" for i in range(100) if partition_for(f"x{i}".encode(), PARTITIONS) != home)
    neighbour = next(f"n{i}" for i in range(100) if partition_for(f"n{i}".encode(), PARTITIONS) == home)
    bad = b'{"device_id": "d0", "device_type": "pc", "ts": 1, "seq": 0, "load_pct": 140}'
    value = _envelope(_pc("d0", T0), _pc(stranger, T0), _pc("d0", T0 + 5_000, 1), _pc(neighbour, 9_999_999_999_999))
    value = value[:-1] + b"," + bad + b"," + encode(_pc("d0", T0 + 10_000, 2)) + b"]"
    message = Record(home, 4, value, b"d0", T0)
    result = _run(_admitting(), table, [message])
    parts = sorted((r.index, r.error.reason) for _, r in result.rejects)
    assert parts == [(1, "wrong_partition"), (3, "future_time"), (4, "out_of_range")]
    assert result.applied == 3 and decode_state(table["d0"]).readings == 3
    replay = _run(_admitting(), table, [message])  # the same positions refused again, nothing applied twice
    assert replay.applied == 0 and replay.replayed == 3 and len(replay.rejects) == 3


def test_a_reading_re_sent_at_a_new_offset_is_applied_once() -> None:
    """A producer's retry (a phone re-pushing after a lost answer) puts the same reading on a later offset:
    the replay guard cannot see it (new offset); the device's recent event times do, across batches and
    restarts (they live in the stored state)."""
    records = _records(devices=2, rounds=30)
    table: dict[str, bytes] = {}
    _run(Processor(lateness_ms=10_000), table, records[:40])
    later = records[30:40] + records[40:]  # the last 10 readings re-sent, then the new ones, all at later offsets
    result = _run(
        Processor(lateness_ms=10_000), table, [Record(r.partition, 1_000 + i, r.value) for i, r in enumerate(later)]
    )
    assert result.duplicated == 10 and result.applied == 20 and result.replayed == 0
    assert len(result.scores) == 20
    for device in range(2):
        assert decode_state(table[f"d{device}"]).readings == 30
