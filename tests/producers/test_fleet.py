"""The simulated fleet in memory: seeded determinism, every failure mode's signature and label, the
state machine's repair, and validation before producing."""

from __future__ import annotations

import time

import msgspec
import numpy as np
import pytest

from producers.failure_modes import MODES
from producers.fleet import FAILED, HEALTHY, Fleet, invalid_mask, to_readings
from schemas import FailureLabel, Lifecycle, Reading, decode_reading, encode
from tests.producers.signatures import check_signature

START = 1_795_000_000_000
INJECT_TICK = 180
# mode → device index (index % 4: 0 pc, 1 raspberry_pi, 2 server, 3 phone)
INJECT = {
    "fan_failure": 0,
    "undervoltage": 1,
    "overload": 2,
    "stuck_sensor": 3,
    "silent_death": 4,
    "thermal_paste": 5,
    "flapping_connectivity": 6,
}


def _run(fleet: Fleet, rounds: int, inject: dict[str, int] | None = None) -> tuple[list[Reading], list[object]]:
    readings: list[Reading] = []
    fleet.start(START)
    events = fleet.take_events()
    for tick in range(rounds):
        if tick == INJECT_TICK:  # after 15 min of healthy baseline
            for mode, device in (inject or {}).items():
                fleet.inject(device, mode, START + tick * fleet.cadence_ms)
        batch = fleet.step(START + tick * fleet.cadence_ms)
        bad, fields = invalid_mask(fleet, batch)
        assert not bad.any(), fields
        readings += to_readings(fleet, batch)
        events += fleet.take_events()
    return readings, events


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    def stream(seed: int) -> list[bytes]:
        readings, events = _run(Fleet(size=40, seed=seed, failure_rate_per_hour=30), 240)
        return [encode(r) for r in readings] + [encode(e) for e in events]

    first = stream(7)
    assert first == stream(7)
    assert first != stream(8)


@pytest.fixture(scope="module")
def injected() -> tuple[list[Reading], list[object]]:
    return _run(Fleet(size=8, seed=3, failure_rate_per_hour=0), 12 * 60 * 3, INJECT)  # 3 event-hours


@pytest.mark.parametrize("mode", list(INJECT))
def test_each_failure_mode_shows_its_signature_and_its_label(mode: str, injected: tuple) -> None:
    readings, events = injected
    device_id = Fleet(size=8, seed=0).device_ids[INJECT[mode]]
    labels = [e for e in events if isinstance(e, FailureLabel) and e.device_id == device_id]
    assert len(labels) == 1, labels
    label = labels[0]
    assert label.onset_ts == START + INJECT_TICK * 5000 and label.ts == label.failure_ts and label.injected
    check_signature(mode, [r for r in readings if r.device_id == device_id], label)


def test_healthy_device_has_no_label_and_reports_every_round(injected: tuple) -> None:
    readings, events = injected
    assert not [e for e in events if isinstance(e, FailureLabel) and e.device_id.endswith("00007")]
    seqs = [r.seq for r in readings if r.device_id == "sim-phone-00007"]
    assert seqs == list(range(12 * 60 * 3))


def test_a_failed_device_is_repaired_and_announced(injected: tuple) -> None:
    readings, events = injected
    restarts = [e for e in events if isinstance(e, Lifecycle) and e.reason == "repaired"]
    assert {e.device_id for e in restarts} >= {"sim-pc-00000", "sim-pc-00004"}
    label = next(e for e in events if isinstance(e, FailureLabel) and e.device_id == "sim-pc-00004")
    restart = next(e for e in restarts if e.device_id == "sim-pc-00004")
    assert restart.ts > label.failure_ts
    assert any(r.device_id == "sim-pc-00004" and r.ts >= restart.ts for r in readings)


def test_random_failures_follow_the_rate_and_every_record_validates() -> None:
    fleet = Fleet(size=400, seed=11, failure_rate_per_hour=2.0)
    readings, events = _run(fleet, 12 * 30)  # half an event-hour: expect ~400 failures begun
    begun = int((fleet.mode >= 0).sum()) + int((fleet.phase == FAILED).sum())
    assert 250 < begun < 550, begun
    for reading in readings[::7]:
        assert decode_reading(encode(reading)) == reading
    for event in events:
        assert msgspec.json.decode(encode(event), type=type(event)) == event


def test_stop_and_start_emit_lifecycle_and_silence_the_device() -> None:
    fleet = Fleet(size=4, seed=1, failure_rate_per_hour=0)
    fleet.start(START)
    fleet.take_events()
    fleet.set_running(2, False)
    batch = fleet.step(START)
    assert 2 not in batch.index.tolist() and batch.index.size == 3
    fleet.set_running(2, True)
    actions = [(e.device_id, e.action) for e in fleet.take_events()]
    assert actions == [("sim-server-00002", "stopped"), ("sim-server-00002", "started")]
    assert fleet.phase[2] == HEALTHY


def test_a_value_out_of_bounds_is_caught_before_producing() -> None:
    fleet = Fleet(size=4, seed=1)
    batch = fleet.step(START)
    batch.values["clock_ghz"][1] = 1800.0  # a Raspberry Pi clock in MHz: the classic unit bug
    bad, fields = invalid_mask(fleet, batch)
    assert bad.tolist() == [False, True, False, False] and fields == ["clock_ghz"]


def test_every_mode_is_known_to_the_schema() -> None:
    from schemas import FAILURE_MODES

    assert tuple(m.name for m in MODES) == FAILURE_MODES
    assert np.all([m.degrading_min[0] >= 30 for m in MODES if m.detectable])


class _Recorder:
    """Stands in for ReadingProducer: records each send's record timestamp (unit test, no Kafka)."""

    def __init__(self) -> None:
        self.stamps: list[int | None] = []

    def send_raw(self, key: bytes, value: bytes, **options: object) -> None:
        self.stamps.append(options.get("timestamp_ms"))  # type: ignore[arg-type]

    def send_event(self, event: object) -> None:
        pass

    def dead_letter(self, *args: object) -> None:
        pass


def test_a_simulation_ahead_of_the_wall_clock_stamps_its_records_with_its_own_time() -> None:
    """Event-time admission judges a reading by its record's timestamp: an accelerated simulation's
    readings run ahead of the wall clock, so its records carry the simulated time (never a past one,
    which time-based retention would delete)."""
    from producers.commands import produce_round

    fleet = Fleet(size=3, seed=1, failure_rate_per_hour=0.0)
    ahead = int(time.time() * 1000) + 3_600_000
    fleet.start(START)
    recorder = _Recorder()
    produce_round(fleet, recorder, ahead)  # type: ignore[arg-type]
    produce_round(fleet, recorder, START + 5_000)  # type: ignore[arg-type]
    assert recorder.stamps == [ahead] * 3 + [None] * 3
