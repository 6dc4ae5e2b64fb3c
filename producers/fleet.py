"""A seeded simulated fleet: every device a state machine, the whole fleet stepped one round at a time.

healthy → degrading → critical → failed (silent) → repaired (healthy again). State lives in numpy arrays
(one element per device) so a round of 100k devices is a handful of vector operations, not 100k Python
method calls. Same seed, size, cadence and start time → the very same readings and events: reruns
overwrite, never duplicate. Failure modes and their signatures: `producers/failure_modes.py`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from producers.failure_modes import MODE_INDEX, MODES, weights
from schemas import DEVICE_TYPES, FailureLabel, Lifecycle, Reading
from schemas.units import LIMITS, PLAUSIBLE, SENSORS

HEALTHY, DEGRADING, CRITICAL, FAILED = 0, 1, 2, 3
PHASES = ("healthy", "degrading", "critical", "failed")
NO_MODE = -1
MINUTE_MS = 60_000

# Healthy operating points per device type: idle power, watts per % load, ambient, supply volts, fan
# airflow, base clock, and °C of temperature rise per % load at nominal cooling.
PROFILES: dict[str, dict[str, float]] = {
    "pc": dict(idle_w=40.0, w_per_load=1.6, ambient_c=30.0, volts=12.0, fan_cfm=35.0, clock_ghz=3.6, rise=0.35),
    "raspberry_pi": dict(idle_w=2.7, w_per_load=0.035, ambient_c=35.0, volts=5.1, fan_cfm=2.0, clock_ghz=1.8, rise=0.3),
    "server": dict(idle_w=120.0, w_per_load=3.5, ambient_c=25.0, volts=12.0, fan_cfm=90.0, clock_ghz=3.0, rise=0.35),
    "phone": dict(idle_w=0.6, w_per_load=0.05, ambient_c=28.0, volts=3.85, fan_cfm=0.0, clock_ghz=2.8, rise=0.12),
}
# Raspberry Pi `get_throttled` bits: now (low 4) and "has occurred since boot" (bits 16-19).
UNDER_VOLTAGE, FREQ_CAPPED, THROTTLED, SOFT_TEMP_LIMIT = 0x1, 0x2, 0x4, 0x8
RPI_UNDER_VOLTAGE_V = 4.63  # the firmware's under-voltage threshold
RPI_SOFT_LIMIT_C = 60.0


def _per_type(key: str) -> np.ndarray:
    return np.array([PROFILES[t][key] for t in DEVICE_TYPES])


@dataclass
class Round:
    """One round of readings: the devices that reported and their values, ready to encode."""

    ts: int
    index: np.ndarray  # device indices that reported
    seq: np.ndarray
    values: dict[str, np.ndarray]  # field → values for `index` (NaN where the type lacks the sensor)
    throttled: np.ndarray


@dataclass
class Fleet:
    size: int
    seed: int
    cadence_ms: int = 5000
    failure_rate_per_hour: float = 0.02  # chance per healthy device per event-hour that a failure begins
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        n = self.size
        self.rng = np.random.Generator(np.random.PCG64(self.seed))
        self.type_idx = np.arange(n) % len(DEVICE_TYPES)
        self.device_ids = [
            f"sim-{DEVICE_TYPES[t].replace('_', '')}-{i:05d}" for i, t in enumerate(self.type_idx.tolist())
        ]
        self.index_of = {device_id: i for i, device_id in enumerate(self.device_ids)}
        self.keys = [device_id.encode() for device_id in self.device_ids]
        self.p = {key: _per_type(key)[self.type_idx] for key in PROFILES["pc"]}
        self.warn_c = np.array([LIMITS[t]["temperature_c"][0] for t in DEVICE_TYPES])[self.type_idx]
        self.crit_c = np.array([LIMITS[t]["temperature_c"][1] for t in DEVICE_TYPES])[self.type_idx]
        self.base_load = self.rng.uniform(15, 55, n)
        self.load = self.base_load.copy()
        self.temperature = self.p["ambient_c"] + self.p["rise"] * (self.load + 10)
        self.clock_frac = np.ones(n)
        self.seq = np.zeros(n, dtype=np.int64)
        self.running = np.ones(n, dtype=bool)
        self.phase = np.zeros(n, dtype=np.int8)
        self.mode = np.full(n, NO_MODE, dtype=np.int8)
        self.injected = np.zeros(n, dtype=bool)
        self.onset_ms = np.zeros(n, dtype=np.int64)
        self.critical_ms = np.zeros(n, dtype=np.int64)
        self.failure_ms = np.zeros(n, dtype=np.int64)
        self.repair_ms = np.zeros(n, dtype=np.int64)
        self.stuck_c = np.zeros(n)
        self.sticky_bits = np.zeros(n, dtype=np.int64)  # RPi "has occurred" bits, cleared by a repair
        self.pending_events: list[Any] = []
        self.scheduled: list[tuple[int, int, str]] = []  # (onset ms, device, mode), soonest first
        self.now_ms = 0  # event time of the newest round
        self.next_ms = 0  # event time of the round to come
        self._mode_p = [weights(t) for t in DEVICE_TYPES]

    # --- control (called by the HTTP API under `lock`) -------------------------------------------

    def inject(self, device: int, mode: str, ts_ms: int | None = None) -> None:
        """Start `mode` on a device from the next round on, whatever its state (a failed one is repaired first)."""
        onset = ts_ms if ts_ms is not None else self.next_ms  # the first reading it affects
        self._begin_failure(np.array([device]), np.array([MODE_INDEX[mode]]), onset, injected=True)

    def schedule(self, device: int, mode: str, ts_ms: int) -> None:
        """Begin `mode` on a device at event time ts_ms (a scripted failure: the demo's story, a test's)."""
        if mode not in MODE_INDEX:
            raise ValueError(f"unknown failure mode {mode!r}; known: {', '.join(MODE_INDEX)}")
        self.scheduled.append((ts_ms, device, mode))
        self.scheduled.sort()

    def set_running(self, device: int, running: bool, reason: str = "control_api") -> None:
        if self.running[device] == running:
            return
        self.running[device] = running
        action = "started" if running else "stopped"
        self._lifecycle(device, action, reason, self.now_ms)

    def describe(self, device: int) -> dict[str, Any]:
        mode = int(self.mode[device])
        return {
            "device_id": self.device_ids[device],
            "device_type": DEVICE_TYPES[self.type_idx[device]],
            "running": bool(self.running[device]),
            "phase": PHASES[self.phase[device]],
            "mode": MODES[mode].name if mode != NO_MODE else None,
            "onset_ts": int(self.onset_ms[device]) if mode != NO_MODE else None,
            "failure_ts": int(self.failure_ms[device]) if mode != NO_MODE else None,
            "seq": int(self.seq[device]),
        }

    # --- the state machine ---------------------------------------------------------------------

    def start(self, ts_ms: int) -> None:
        """Announce every device (lifecycle `started`) at the first round's event time."""
        self.now_ms = self.next_ms = ts_ms
        for device in range(self.size):
            self._lifecycle(device, "started", "simulator", ts_ms)

    def _lifecycle(self, device: int, action: str, reason: str, ts_ms: int) -> None:
        event = Lifecycle(
            device_id=self.device_ids[device],
            ts=ts_ms,
            action=action,  # type: ignore[arg-type]
            device_type=DEVICE_TYPES[self.type_idx[device]],  # type: ignore[arg-type]
            source="simulator" if reason in ("simulator", "repaired") else "control_api",
            reason=reason,
        )
        self.pending_events.append(event)

    def _begin_failure(self, devices: np.ndarray, modes: np.ndarray, ts_ms: int, injected: bool = False) -> None:
        for device, mode_i in zip(devices.tolist(), modes.tolist(), strict=True):
            mode = MODES[mode_i]
            degrading = self.rng.uniform(*mode.degrading_min) * MINUTE_MS
            critical = self.rng.uniform(*mode.critical_min) * MINUTE_MS
            self._repair(device)
            self.mode[device] = mode_i
            self.injected[device] = injected
            self.phase[device] = DEGRADING if degrading > 0 else CRITICAL
            self.onset_ms[device] = ts_ms
            self.critical_ms[device] = ts_ms + int(degrading)
            self.failure_ms[device] = ts_ms + int(degrading + critical)
            self.stuck_c[device] = round(float(self.temperature[device]), 2)

    def _repair(self, device: int) -> None:
        self.phase[device] = HEALTHY
        self.mode[device] = NO_MODE
        self.injected[device] = False
        self.sticky_bits[device] = 0
        self.load[device] = self.base_load[device]
        self.clock_frac[device] = 1.0
        self.temperature[device] = self.p["ambient_c"][device] + self.p["rise"][device] * (self.load[device] + 10)

    def _advance_phases(self, ts: int) -> None:
        while self.scheduled and self.scheduled[0][0] <= ts:
            onset, device, mode = self.scheduled.pop(0)
            self.inject(device, mode, onset)
        failing = (self.phase == DEGRADING) | (self.phase == CRITICAL)
        self.phase[(self.phase == DEGRADING) & (ts >= self.critical_ms)] = CRITICAL
        for device in np.flatnonzero(failing & (ts >= self.failure_ms)).tolist():
            self.phase[device] = FAILED
            mode = MODES[self.mode[device]]
            self.repair_ms[device] = int(self.failure_ms[device]) + int(self.rng.uniform(10, 30) * MINUTE_MS)
            self.pending_events.append(
                FailureLabel(
                    device_id=self.device_ids[device],
                    ts=int(self.failure_ms[device]),
                    mode=mode.name,
                    onset_ts=int(self.onset_ms[device]),
                    failure_ts=int(self.failure_ms[device]),
                    detectable=mode.detectable,
                    injected=bool(self.injected[device]),
                )
            )
        for device in np.flatnonzero((self.phase == FAILED) & (ts >= self.repair_ms)).tolist():
            self._repair(device)
            self._lifecycle(device, "started", "repaired", ts)
        # New failures: one uniform draw per device every round keeps the stream reproducible.
        draw = self.rng.random(self.size)
        chance = self.failure_rate_per_hour * self.cadence_ms / 3_600_000
        starting = np.flatnonzero((draw < chance) & (self.phase == HEALTHY) & self.running)
        if starting.size:
            modes = np.array([self.rng.choice(len(MODES), p=self._mode_p[self.type_idx[d]]) for d in starting.tolist()])
            self._begin_failure(starting, modes, ts)

    def _severity(self, ts: int) -> np.ndarray:
        """0 → 0.7 across degrading, 0.7 → 1 across critical, 0 when healthy."""
        span_d = np.maximum(self.critical_ms - self.onset_ms, 1)
        span_c = np.maximum(self.failure_ms - self.critical_ms, 1)
        s_d = 0.7 * np.clip((ts - self.onset_ms) / span_d, 0, 1)
        s_c = 0.7 + 0.3 * np.clip((ts - self.critical_ms) / span_c, 0, 1)
        return np.where(self.phase == DEGRADING, s_d, np.where(self.phase == CRITICAL, s_c, 0.0))

    def step(self, ts: int) -> Round:
        """Advance every device to event time `ts` and return the readings of those that report."""
        self.now_ms, self.next_ms = ts, ts + self.cadence_ms
        self._advance_phases(ts)
        n, p, rng = self.size, self.p, self.rng
        s = self._severity(ts)
        is_mode = {name: self.mode == i for name, i in MODE_INDEX.items()}
        noise = rng.standard_normal((6, n))

        # Load: mean-reverting walk; an overload pins it toward 100 %.
        overload = is_mode["overload"] * np.minimum(1.0, 1.6 * s)
        target_load = self.base_load + (100 - self.base_load) * overload
        self.load = np.clip(self.load + 0.2 * (target_load - self.load) + 3.0 * noise[0], 0, 100)
        power = (p["idle_w"] + p["w_per_load"] * self.load * self.clock_frac) * (1 + 0.01 * noise[1])

        # Cooling: a failing fan loses airflow, dried paste raises thermal resistance; both heat the chip.
        fan_frac = 1 - 0.92 * s * is_mode["fan_failure"]
        cooling_penalty = (1 + 4.0 * (1 - fan_frac) ** 2) * (1 + 2.0 * s * is_mode["thermal_paste"])
        target_c = p["ambient_c"] + p["rise"] * (self.load + 10) * cooling_penalty * (0.6 + 0.4 * self.clock_frac)
        self.temperature = self.temperature + 0.15 * (target_c - self.temperature) + 0.3 * noise[2]

        # Heat throttles the clock between the warning and the critical temperature (down to 50 %).
        heat = np.clip((self.temperature - self.warn_c) / (self.crit_c - self.warn_c), 0, 1)
        self.clock_frac = 1 - 0.5 * heat

        # Supply: a sagging PSU loses up to 12 % of its voltage and gets noisier.
        sag = s * is_mode["undervoltage"]
        voltage = p["volts"] * (1 - 0.12 * sag + (0.004 + 0.02 * sag) * noise[3])
        clock = p["clock_ghz"] * self.clock_frac
        throttled = self._throttle_bits(voltage, heat)
        capped = (throttled >= 0) & ((throttled & FREQ_CAPPED) > 0)
        clock = np.where(capped, np.minimum(clock, 1.2), clock)  # the RPi firmware caps the ARM clock
        fan = p["fan_cfm"] * fan_frac * (1 + 0.02 * noise[4])

        temperature = np.where(is_mode["stuck_sensor"] & (self.phase != HEALTHY), self.stuck_c, self.temperature)
        # Flapping: a growing share of readings never arrives.
        dropped = is_mode["flapping_connectivity"] & (noise[5] < -1.0 + 2.0 * s) & (self.phase != HEALTHY)
        reporting = self.running & (self.phase != FAILED) & ~dropped
        index = np.flatnonzero(reporting)
        seq = self.seq[index].copy()
        self.seq[index] += 1
        values = {
            "temperature_c": np.round(temperature[index], 2),
            "power_w": np.round(power[index], 3),
            "load_pct": np.round(self.load[index], 1),
            "voltage_v": np.round(voltage[index], 3),
            "fan_cfm": np.where(p["fan_cfm"][index] > 0, np.round(fan[index], 2), np.nan),
            "clock_ghz": np.round(clock[index], 3),
        }
        return Round(ts=ts, index=index, seq=seq, values=values, throttled=throttled[index])

    def _throttle_bits(self, voltage: np.ndarray, heat: np.ndarray) -> np.ndarray:
        is_pi = self.type_idx == DEVICE_TYPES.index("raspberry_pi")
        under = is_pi & (voltage < RPI_UNDER_VOLTAGE_V)
        hot = is_pi & (heat > 0)
        soft = is_pi & (self.temperature > RPI_SOFT_LIMIT_C)
        now = under * UNDER_VOLTAGE + (under | hot) * FREQ_CAPPED + hot * THROTTLED + soft * SOFT_TEMP_LIMIT
        self.sticky_bits |= now.astype(np.int64) << 16
        return np.where(is_pi, now | self.sticky_bits, -1)

    def take_events(self) -> list[Any]:
        events, self.pending_events = self.pending_events, []
        return events


# Validation before producing, vectorised: the same bounds `schemas.validation` checks on receipt.
_LOW = {
    f: np.array([max(PLAUSIBLE[t].get(f, (-np.inf,))[0], SENSORS[f].absolute_min) for t in DEVICE_TYPES])
    for f in SENSORS
}
_HIGH = {
    f: np.array([min(PLAUSIBLE[t].get(f, (0, np.inf))[1], SENSORS[f].absolute_max) for t in DEVICE_TYPES])
    for f in SENSORS
}


def invalid_mask(fleet: Fleet, batch: Round) -> tuple[np.ndarray, list[str]]:
    """Which readings of a round break a schema or plausibility bound, and the fields that did."""
    types = fleet.type_idx[batch.index]
    bad = np.zeros(batch.index.size, dtype=bool)
    fields = []
    for name, values in batch.values.items():
        present = ~np.isnan(values)
        out = present & ((values < _LOW[name][types]) | (values > _HIGH[name][types]))
        if out.any():
            fields.append(name)
            bad |= out
    return bad, fields


def to_readings(fleet: Fleet, batch: Round, skip: np.ndarray | None = None) -> list[Reading]:
    """Readings as structs (omitting sensors a device type lacks), for tests and small fleets."""
    columns = {name: values.tolist() for name, values in batch.values.items()}
    out = []
    for row, (device, seq, bits) in enumerate(
        zip(batch.index.tolist(), batch.seq.tolist(), batch.throttled.tolist(), strict=True)
    ):
        if skip is not None and skip[row]:
            continue
        fan = columns["fan_cfm"][row]
        out.append(
            Reading(
                device_id=fleet.device_ids[device],
                device_type=DEVICE_TYPES[fleet.type_idx[device]],  # type: ignore[arg-type]
                ts=batch.ts,
                seq=seq,
                temperature_c=columns["temperature_c"][row],
                power_w=columns["power_w"][row],
                load_pct=columns["load_pct"][row],
                voltage_v=columns["voltage_v"][row],
                fan_cfm=None if fan != fan else fan,  # NaN: the type has no fan
                clock_ghz=columns["clock_ghz"][row],
                throttled=bits if bits >= 0 else None,
            )
        )
    return out


def parse_scripted_failures(text: str) -> list[tuple[str, str, float]]:
    """`device:mode@minutes, …` → [(device_id, mode, minutes)]; ValueError names the item that is wrong."""
    items = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        device, sep, rest = item.partition(":")
        mode, at, minutes = rest.partition("@")
        try:
            offset = float(minutes)
        except ValueError:
            offset = -1.0
        if not (sep and at and device and mode in MODE_INDEX and offset >= 0):
            raise ValueError(f"{item!r} is not device_id:mode@minutes with a mode of {', '.join(MODE_INDEX)}")
        items.append((device, mode, offset))
    return items


def schedule_scripted(fleet: Fleet, text: str, start_ms: int) -> list[tuple[str, str, int]]:
    """Schedule each scripted failure on the fleet; returns (device_id, mode, onset ms) for the caller to announce."""
    scheduled = []
    for device_id, mode, minutes in parse_scripted_failures(text):
        if device_id not in fleet.index_of:
            raise ValueError(f"{device_id!r} is not in this fleet (sim-pc-00000 … {fleet.device_ids[-1]})")
        onset = start_ms + int(minutes * MINUTE_MS)
        fleet.schedule(fleet.index_of[device_id], mode, onset)
        scheduled.append((device_id, mode, onset))
    return scheduled
