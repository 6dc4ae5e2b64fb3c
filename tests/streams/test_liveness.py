"""Liveness: learned cadence, transitions decided by the sweep, the event clock, fleet KPIs."""

from __future__ import annotations

import pytest

from streams import kpis
from streams.liveness import DEAD, LATE, ON_TIME, SILENT, EventClock, Live, LivenessConfig, PartitionClocks, sweep

CONFIG = LivenessConfig(late_factor=3.0, silent_after_ms=600_000, dead_after_ms=3_600_000)
T0 = 1_795_000_000_000


def _device(cadence_s: float, reports: int) -> Live:
    live = Live(0, T0, T0)
    for i in range(1, reports):
        live.observe(T0 + int(i * cadence_s * 1000))
    return live


def test_cadence_is_learned_from_forward_gaps_only() -> None:
    live = _device(5, 20)
    assert live.cadence_ms == pytest.approx(5_000)
    live.observe(T0)  # an out-of-order old reading teaches nothing and does not move last_seen
    assert live.cadence_ms == pytest.approx(5_000) and live.last_seen == T0 + 19 * 5_000


def test_states_progress_and_recover_with_one_event_per_change() -> None:
    devices = {"a": _device(5, 10)}
    last = devices["a"].last_seen
    assert sweep(devices, last + 10_000, CONFIG) == []  # 2 cadences: still on time
    changes = sweep(devices, last + 16_000, CONFIG)
    assert [(c.previous, c.state) for c in changes] == [(ON_TIME, LATE)]
    assert sweep(devices, last + 17_000, CONFIG) == []  # no repeat while the state holds
    assert [c.state for c in sweep(devices, last + 600_001, CONFIG)] == [SILENT]
    assert [c.state for c in sweep(devices, last + 3_600_001, CONFIG)] == [DEAD]
    devices["a"].observe(last + 3_700_000)
    assert [c.state for c in sweep(devices, last + 3_700_500, CONFIG)] == [ON_TIME]


def test_each_device_uses_its_own_cadence() -> None:
    devices = {"fast": _device(1, 10), "slow": _device(60, 10)}
    now = max(d.last_seen for d in devices.values()) + 10_000
    states = {c.device_id: c.state for c in sweep(devices, now, CONFIG)}
    assert states == {"fast": LATE}


def test_event_clock_follows_events_and_advances_on_wall_time_when_quiet() -> None:
    wall = [100.0]
    clock = EventClock(rate=60.0, wall=lambda: wall[0])
    clock.observe(T0)
    assert clock.now_ms() == T0
    wall[0] += 10  # 10 wall seconds at speedup 60 = 10 simulated minutes
    assert clock.now_ms() == T0 + 600_000
    clock.observe(T0 + 5_000)  # older than the extrapolated clock: the clock does not go back
    assert clock.now_ms() == T0 + 600_000


def test_fleet_kpis() -> None:
    now = T0 + 10_000_000
    a = Live(0, T0, now - 1_000, cadence_ms=5_000)
    b = Live(0, T0, now - 700_000, cadence_ms=10_000, state=SILENT)
    c = Live(0, T0 + 1_000_000, T0 + 4_000_000, cadence_ms=30_000, state=DEAD)
    result = kpis.compute([a, b, c], now)
    assert result.devices == 3 and result.by_state == {"on_time": 1, "late": 0, "silent": 1, "dead": 1}
    assert result.silent_over_10m_share == pytest.approx(2 / 3)
    assert result.report_interval_mean_s == pytest.approx(15.0)
    assert result.report_interval_median_s == pytest.approx(10.0)
    assert result.dead_devices == 1 and result.lifespan_mean_s == pytest.approx(3_000.0)
    assert kpis.compute([], now).silent_over_10m_share == 0.0


def test_each_partition_has_its_own_clock_so_a_backlog_does_not_look_silent() -> None:
    wall = [0.0]
    clocks = PartitionClocks(rate=1.0, wall=lambda: wall[0])
    behind, ahead = Live(0, T0, T0, cadence_ms=5_000), Live(1, T0, T0, cadence_ms=5_000)
    clocks.observe(0, T0)
    clocks.observe(1, T0 + 3_600_000)  # partition 1 is an hour ahead; partition 0 has a backlog
    changes = sweep({"behind": behind, "ahead": ahead}, clocks.now(), CONFIG)
    assert [(c.device_id, c.state) for c in changes] == [("ahead", SILENT)]
    assert sweep({"unknown": Live(7, T0, T0)}, clocks.now(), CONFIG) == []  # no clock yet: not judged


def _reporting_partition(clocks: PartitionClocks, devices: int, rounds: int) -> dict[str, Live]:
    """`devices` on partition 0, each reporting every 5 s of event time."""
    fleet = {f"d{d}": Live(0, T0, T0) for d in range(devices)}
    for r in range(rounds):
        for device_id, live in fleet.items():
            live.observe(T0 + r * 5_000)
            clocks.observe(0, T0 + r * 5_000, device_id)
    return fleet


def test_one_device_from_the_far_future_cannot_move_its_partitions_clock() -> None:
    wall = [0.0]
    clocks = PartitionClocks(rate=1.0, wall=lambda: wall[0])
    fleet = _reporting_partition(clocks, devices=5, rounds=12)
    poisoned = Live(0, T0, T0)
    fleet["poisoned"] = poisoned
    poisoned.observe(3_500_000_000_000)  # a reading dated 2080
    clocks.observe(0, 3_500_000_000_000, "poisoned")
    assert clocks.now_ms(0) == T0 + 11 * 5_000, "the lower median of the devices' newest times"
    assert sweep(fleet, clocks.now(), CONFIG) == [], "nobody that kept reporting is late, silent or dead"


def test_the_clock_follows_half_the_partition_and_wall_time_when_all_are_quiet() -> None:
    wall = [0.0]
    clocks = PartitionClocks(rate=1.0, wall=lambda: wall[0])
    fleet = _reporting_partition(clocks, devices=4, rounds=3)
    assert clocks.now_ms(0) == T0 + 10_000
    for device_id in ("d0", "d1"):  # half of them move on: still the lower median
        clocks.observe(0, T0 + 60_000, device_id)
    assert clocks.now_ms(0) == T0 + 10_000
    clocks.observe(0, T0 + 60_000, "d2")  # three of four: it moves
    assert clocks.now_ms(0) == T0 + 60_000
    wall[0] += 700  # nothing arrives for 700 wall seconds: the quiet device d3 is judged silent
    states = {c.device_id: c.state for c in sweep(fleet, clocks.now(), CONFIG)}
    assert states["d3"] == SILENT


def test_a_stored_outlier_does_not_keep_its_neighbours_dead_after_a_restart() -> None:
    """After a restart the clocks are rebuilt from the stored devices' newest times (agents._sync_index):
    one stored far-future time must not put the partition decades ahead again."""
    clocks = PartitionClocks(rate=1.0, wall=lambda: 0.0)
    stored = {f"d{d}": Live(0, T0, T0 + 50_000, cadence_ms=5_000, state=DEAD) for d in range(5)}
    stored["poisoned"] = Live(0, T0, 3_500_000_000_000, cadence_ms=5_000)
    for device_id, live in stored.items():
        clocks.observe(live.partition, live.last_seen, device_id)
    states = {c.device_id: c.state for c in sweep(stored, clocks.now(), CONFIG)}
    assert states == {f"d{d}": ON_TIME for d in range(5)}, "they were dead only by the outlier's clock"


def test_a_forgotten_partition_has_no_clock() -> None:
    clocks = PartitionClocks()
    clocks.observe(2, T0, "d0")
    clocks.forget(2)
    assert clocks.now() == {} and clocks.now_ms(2) == -1
