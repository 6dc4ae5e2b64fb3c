"""The host agent: real readings of the machine it runs on (psutil, sysfs, `vcgencmd` on a Raspberry Pi).

Capability detection: each sensor is probed once at start; one the host lacks is omitted from every
reading and named once in the log, never faked (a VM has no temperatures, a desktop no battery).
"""

from __future__ import annotations

import logging
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from schemas import Reading

log = logging.getLogger(__name__)

# `vcgencmd get_throttled` bits (Raspberry Pi firmware): low bits "now", bits 16-19 "since boot".
THROTTLE_BITS = {
    0: "under_voltage",
    1: "arm_frequency_capped",
    2: "throttled",
    3: "soft_temperature_limit",
    16: "under_voltage_occurred",
    17: "arm_frequency_capped_occurred",
    18: "throttled_occurred",
    19: "soft_temperature_limit_occurred",
}


def parse_throttled(output: str) -> int:
    """`throttled=0x50005` → 0x50005. Raises ValueError on anything else (a firmware we don't know)."""
    match = re.fullmatch(r"\s*throttled=(0x[0-9a-fA-F]+)\s*", output)
    if not match:
        raise ValueError(f"unexpected get_throttled output: {output!r}")
    return int(match.group(1), 16)


def decode_throttled(bits: int) -> dict[str, bool]:
    return {name: bool(bits >> bit & 1) for bit, name in THROTTLE_BITS.items()}


def _vcgencmd(*args: str) -> str:
    return subprocess.run(["vcgencmd", *args], capture_output=True, text=True, timeout=5, check=True).stdout


def is_raspberry_pi() -> bool:
    model = Path("/proc/device-tree/model")
    return model.exists() and "Raspberry Pi" in model.read_text(errors="replace")


def _hottest_temperature() -> float | None:
    temperatures = psutil.sensors_temperatures() if hasattr(psutil, "sensors_temperatures") else {}
    values = [t.current for entries in temperatures.values() for t in entries if t.current and t.current > -40]
    if not values:  # some kernels expose thermal zones that psutil does not list
        for zone in Path("/sys/class/thermal").glob("thermal_zone*/temp"):
            try:
                values.append(int(zone.read_text()) / 1000)
            except (OSError, ValueError):
                continue
    return round(max(values), 2) if values else None


def _fastest_fan() -> float | None:
    fans = psutil.sensors_fans() if hasattr(psutil, "sensors_fans") else {}
    values = [f.current for entries in fans.values() for f in entries]
    return float(max(values)) if values else None


def _clock_ghz() -> float | None:
    if is_raspberry_pi() and shutil.which("vcgencmd"):
        hertz = int(_vcgencmd("measure_clock", "arm").strip().split("=")[1])
        return round(hertz / 1e9, 3)
    frequency = psutil.cpu_freq()
    # psutil reports MHz; the wire carries GHz (the original project sent MHz labelled GHz).
    return round(frequency.current / 1000, 3) if frequency and frequency.current > 0 else None


def _disk_pct() -> float | None:
    percents = []
    for partition in psutil.disk_partitions(all=False):
        try:
            percents.append(psutil.disk_usage(partition.mountpoint).percent)
        except OSError:
            continue
    return max(percents) if percents else None


class RaplPower:
    """CPU package power from Intel/AMD RAPL energy counters (microjoules), as a rate between calls."""

    def __init__(self) -> None:
        self.path = Path("/sys/class/powercap/intel-rapl:0/energy_uj")
        self.last: tuple[float, int] | None = None
        self.range = int(Path("/sys/class/powercap/intel-rapl:0/max_energy_range_uj").read_text())
        self()  # fails here, at probing, when unreadable

    def __call__(self) -> float | None:
        now, energy = time.monotonic(), int(self.path.read_text())
        last, self.last = self.last, (now, energy)
        if last is None or now <= last[0]:
            return None
        used = (energy - last[1]) % self.range  # the counter wraps
        return round(used / 1e6 / (now - last[0]), 3)


class HostAgent:
    def __init__(self, device_id: str = "", device_type: str | None = None) -> None:
        self.device_id = device_id or f"host-{re.sub(r'[^A-Za-z0-9._-]', '-', socket.gethostname())}"
        self.raspberry_pi = is_raspberry_pi()
        self.device_type = device_type or ("raspberry_pi" if self.raspberry_pi else "pc")
        self.seq = 0
        psutil.cpu_percent(interval=None)  # the first call only starts the measurement
        self.probes: dict[str, Callable[[], object]] = {}
        self.missing: list[str] = []
        self._detect()

    def _candidates(self) -> dict[str, Callable[[], object]]:
        candidates: dict[str, Callable[[], object]] = {
            "temperature_c": _hottest_temperature,
            "load_pct": lambda: psutil.cpu_percent(interval=None),
            "clock_ghz": _clock_ghz,
            "fan_rpm": _fastest_fan,
            "memory_pct": lambda: psutil.virtual_memory().percent,
            "swap_pct": lambda: psutil.swap_memory().percent if psutil.swap_memory().total else None,
            "disk_pct": _disk_pct,
            "battery_pct": lambda: (b := psutil.sensors_battery()) and round(b.percent, 1),
            "battery_charging": lambda: (b := psutil.sensors_battery()) and b.power_plugged,
        }
        try:
            candidates["power_w"] = RaplPower()
        except (OSError, ValueError):
            candidates["power_w"] = lambda: None
        if self.raspberry_pi and shutil.which("vcgencmd"):
            candidates["throttled"] = lambda: parse_throttled(_vcgencmd("get_throttled"))
        else:
            candidates["throttled"] = lambda: None
        return candidates

    def _detect(self) -> None:
        """Keep the probes that answer; say once which the host lacks."""
        for field, probe in self._candidates().items():
            try:
                works = probe() is not None
            except Exception as error:  # a probe that cannot work on this host; never crash the agent
                log.debug("probe %s failed: %s", field, error)
                works = False
            if works or (field == "power_w" and isinstance(probe, RaplPower)):
                self.probes[field] = probe
            else:
                self.missing.append(field)
        log.info(
            "host agent %s (%s): reporting %s; this host lacks %s (omitted, not faked)",
            self.device_id,
            self.device_type,
            ", ".join(self.probes),
            ", ".join(self.missing) or "nothing",
        )

    def read(self, ts_ms: int | None = None) -> Reading:
        values: dict[str, object] = {}
        for field, probe in self.probes.items():
            try:
                value = probe()
            except Exception as error:  # a sensor that worked and stopped: skip this time, say why
                log.warning("sensor %s failed: %s", field, error)
                continue
            if value is not None:
                values[field] = value
        reading = Reading(
            device_id=self.device_id,
            device_type=self.device_type,  # type: ignore[arg-type]
            ts=ts_ms if ts_ms is not None else int(time.time() * 1000),
            seq=self.seq,
            **values,  # type: ignore[arg-type]
        )
        self.seq += 1
        return reading
