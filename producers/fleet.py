"""A seeded simulated fleet. Same seed and start time, same stream: reruns overwrite, never duplicate.

Walking-skeleton version: devices with coupled load → power → temperature physics and noise. The
failure state machine with labelled ground truth builds on `SimulatedDevice.step`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from schemas import DEVICE_TYPES, Reading

# Typical healthy operating points per device type: idle power, watts per % load, ambient, supply volts,
# fan airflow and base clock.
PROFILES = {
    "pc": dict(idle_w=40.0, w_per_load=1.6, ambient_c=30.0, volts=12.0, fan_cfm=35.0, clock_ghz=3.6),
    "raspberry_pi": dict(idle_w=2.7, w_per_load=0.035, ambient_c=35.0, volts=5.1, fan_cfm=2.0, clock_ghz=1.8),
    "server": dict(idle_w=120.0, w_per_load=3.5, ambient_c=25.0, volts=12.0, fan_cfm=90.0, clock_ghz=3.0),
    "phone": dict(idle_w=0.6, w_per_load=0.05, ambient_c=28.0, volts=3.85, fan_cfm=0.0, clock_ghz=2.8),
}


@dataclass
class SimulatedDevice:
    device_id: str
    device_type: str
    rng: random.Random
    seq: int = 0
    load: float = field(default=30.0)
    temperature: float = field(default=40.0)

    def step(self, ts_ms: int) -> Reading:
        p = PROFILES[self.device_type]
        # Load is a bounded random walk; temperature relaxes toward ambient + heat from power.
        self.load = min(100.0, max(0.0, self.load + self.rng.gauss(0, 4)))
        power = p["idle_w"] + p["w_per_load"] * self.load
        target = p["ambient_c"] + 0.35 * self.load
        self.temperature += 0.3 * (target - self.temperature) + self.rng.gauss(0, 0.4)
        reading = Reading(
            device_id=self.device_id,
            device_type=self.device_type,
            ts=ts_ms,
            seq=self.seq,
            temperature_c=round(self.temperature, 2),
            power_w=round(power * (1 + self.rng.gauss(0, 0.01)), 3),
            load_pct=round(self.load, 1),
            voltage_v=round(p["volts"] * (1 + self.rng.gauss(0, 0.005)), 3),
            fan_cfm=round(p["fan_cfm"] * (1 + self.rng.gauss(0, 0.02)), 2) if p["fan_cfm"] else None,
            clock_ghz=round(p["clock_ghz"] * (1 - 0.1 * max(0.0, self.temperature - 80) / 20), 3),
        )
        self.seq += 1
        return reading


def build_fleet(size: int, seed: int) -> list[SimulatedDevice]:
    devices = []
    for index in range(size):
        device_type = DEVICE_TYPES[index % len(DEVICE_TYPES)]
        device_id = f"sim-{device_type.replace('_', '')}-{index:05d}"
        devices.append(SimulatedDevice(device_id, device_type, random.Random(f"{seed}:{device_id}")))
    return devices


def readings(devices: list[SimulatedDevice], start_ms: int, cadence_ms: int, rounds: int) -> Iterator[Reading]:
    """`rounds` readings per device in event-time order (rounds=0: forever)."""
    tick = 0
    while rounds == 0 or tick < rounds:
        ts = start_ms + tick * cadence_ms
        for device in devices:
            yield device.step(ts)
        tick += 1
