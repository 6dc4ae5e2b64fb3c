"""Scoring cost per reading, envelope dump/load cost and memory per device: the River device model beside
the baseline rule, and the worker's path (a batch of devices, each opened from its envelope bytes,
scored through ModelService and closed back to bytes); the compiled model (mypyc, `make install`) beside
its Python source, side by side in one run: each measurement runs in a fresh interpreter per
implementation, the two alternated ROUNDS times, and the medians and their ratios are printed.

Run: .venv/bin/python bench/model_bench.py [rounds]  (bounded: ~20k readings per child, ~10 s each)
     .venv/bin/python bench/model_bench.py --one     (this interpreter's implementation only, as JSON)
"""

from __future__ import annotations

import json
import os
import pickle
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import streams.model
from schemas import Reading
from streams import baseline
from streams.model import envelope, native
from streams.model.detector import DeviceModel
from streams.model.service import ModelService

READINGS = 20_000
DEVICES = 20
BATCH_DEVICES, BATCH_READINGS, BATCHES = 200, 5, 20  # a worker batch: 200 devices, 5 readings each


def stream() -> list[Reading]:
    rng = random.Random(42)
    out = []
    for k in range(READINGS // DEVICES):
        for d in range(DEVICES):
            load = min(100.0, max(0.0, 40 + rng.gauss(0, 10)))
            out.append(
                Reading(
                    device_id=f"bench-{d}",
                    device_type="pc",
                    ts=k * 5_000,
                    seq=k,
                    temperature_c=45 + 0.2 * load + rng.gauss(0, 0.5),
                    power_w=60 + 1.5 * load,
                    load_pct=load,
                    voltage_v=12 + rng.gauss(0, 0.05),
                    fan_cfm=35 + rng.gauss(0, 0.5),
                    clock_ghz=3.6,
                )
            )
    return out


def _healthy(rounds: range, rng: random.Random) -> list[tuple[int, dict[str, float | None]]]:
    out: list[tuple[int, dict[str, float | None]]] = []
    for k in rounds:
        load = min(100.0, max(0.0, 40 + rng.gauss(0, 10)))
        values = {"temperature_c": 45 + 0.2 * load + rng.gauss(0, 0.5), "power_w": 60 + 1.5 * load}
        values |= {"load_pct": load, "voltage_v": 12 + rng.gauss(0, 0.05), "fan_cfm": 35 + rng.gauss(0, 0.5)}
        out.append((k * 5_000, values | {"clock_ghz": 3.6}))
    return out


def _per_call_us(call: Callable[[], object], calls: int = 2_000) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls * 1e6


def worker_batches() -> float:
    """µs per reading, amortised, through ModelService: every batch opens each device from its bytes
    (decoded afresh, as after a rebalance: the worker's cache of decoded models only makes it cheaper),
    scores its readings and closes it to bytes. The readings are made before the clock starts (in the
    worker they arrive decoded): what is timed is the model's work."""
    rng = random.Random(3)
    service, stored = ModelService(), {}
    devices = [f"batch-{d}" for d in range(BATCH_DEVICES)]
    batches: list[list[list[Reading]]] = []
    for b in range(BATCHES):
        batch = []
        for device in devices:
            readings = []
            for k in range(BATCH_READINGS):
                seq = b * BATCH_READINGS + k
                ts, values = _healthy(range(seq, seq + 1), rng)[0]
                readings.append(Reading(device_id=device, device_type="pc", ts=ts, seq=seq, **values))
            batch.append(readings)
        batches.append(batch)
    total, started = 0, 0.0
    for b, batch in enumerate(batches):
        if b == 2:  # the first batches start devices cold; time the steady state
            started, total = time.perf_counter(), 0
        for device, readings in zip(devices, batch, strict=True):
            model = service.open("pc", stored.get(device))
            for reading in readings:
                service.score(model, reading, now_ms=0)
                total += 1
            stored[device] = service.close(model)
    return (time.perf_counter() - started) / total * 1e6


def measure() -> dict[str, float]:
    readings = stream()
    started = time.perf_counter()
    for reading in readings:
        baseline.score(reading, now_ms=0)
    base_us = (time.perf_counter() - started) / len(readings) * 1e6

    models: dict[str, DeviceModel] = {}
    started = time.perf_counter()
    for r in readings:
        model = models.get(r.device_id)
        if model is None:
            model = models[r.device_id] = DeviceModel(r.device_type)
        model.update(r.ts, {s: getattr(r, s) for s in model.baselines}, r.throttled)
    model_us = (time.perf_counter() - started) / len(readings) * 1e6

    # Memory at steady state: one device run on for 4 more hours of event time (all its hourly noise
    # checkpoints filled, label buffer full), then labelled once.
    one = next(iter(models.values()))
    rng = random.Random(7)
    for ts, values in _healthy(range(READINGS // DEVICES, READINGS // DEVICES + 4 * 720), rng):
        one.update(ts, values)
    one.learn_failure(one.last_ts)
    data = envelope.dump(one)
    pickled, checkpoints = len(pickle.dumps(one)), len(one.checkpoints)
    # The worker dumps each touched device once per batch, and loads one only when its decoded copy is gone.
    dump_us, load_us = _per_call_us(lambda: envelope.dump(one)), _per_call_us(lambda: envelope.load(data))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    copies = [envelope.load(data) for _ in range(200)]
    traced = (tracemalloc.get_traced_memory()[0] - before) / len(copies)
    tracemalloc.stop()
    # A labelled device (its supervised half ready) also builds its feature vector and asks the regression.
    assert one.supervised.ready()
    more = _healthy(range(one.last_ts // 5_000 + 1, one.last_ts // 5_000 + 2_001), rng)
    started = time.perf_counter()
    for ts, values in more:
        one.update(ts, values)
    labelled_us = (time.perf_counter() - started) / len(more) * 1e6
    batch_us = worker_batches()
    return {
        "readings": len(readings),
        "baseline_us": base_us,
        "model_us": model_us,
        "labelled_us": labelled_us,
        "batch_us": batch_us,
        "dump_us": dump_us,
        "load_us": load_us,
        "envelope_bytes": len(data),
        "pickle_bytes": pickled,
        "traced_bytes": traced,
        "checkpoints": checkpoints,
    }


ROUNDS = 3
IMPLEMENTATIONS = ("python", "compiled")


def _child(implementation: str) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != native.PURE_ENV}
    if implementation == "python":
        env[native.PURE_ENV] = "1"
    root = Path(__file__).resolve().parents[1]
    argv = [sys.executable, "-m", "bench.model_bench", "--one"]
    out = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    if result["implementation"] != implementation:
        raise SystemExit(f"asked for the {implementation} model, the child ran {result['implementation']}")
    return result


def main(rounds: int = ROUNDS) -> None:
    if native.stale():
        raise SystemExit(f"the model is not compiled ({'; '.join(native.stale())}): run `make install` first")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in IMPLEMENTATIONS}
    for _ in range(rounds):  # alternated: the machine's other load hits both alike
        for name in IMPLEMENTATIONS:
            runs[name].append(_child(name))

    def median(name: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[name])

    def spread(name: str, key: str) -> str:
        values = sorted(run[key] for run in runs[name])
        return f"{values[0]:.1f}-{values[-1]:.1f}"

    first = runs["python"][0]
    print(f"readings scored {first['readings']:.0f} (20 devices) per run; medians of {rounds} alternated runs")
    print(f"{'µs per':<34}{'python':>9}{'compiled':>10}{'python/compiled':>17}   compiled runs")
    rows = [
        ("baseline rule, reading", "baseline_us"),
        ("river device model, reading", "model_us"),
        ("labelled device, reading", "labelled_us"),
        (f"worker batch, reading ({BATCH_DEVICES}x{BATCH_READINGS})", "batch_us"),
        ("envelope dump, device", "dump_us"),
        ("envelope load, device", "load_us"),
    ]
    for label, key in rows:
        python, compiled = median("python", key), median("compiled", key)
        print(f"{label:<34}{python:9.1f}{compiled:10.1f}{python / compiled:16.2f}x   {spread('compiled', key)}")
    compiled_run = runs["compiled"][0]
    print("worker batch: envelope load + score + dump per device, amortised over its readings")
    print(f"model envelope bytes/device     {compiled_run['envelope_bytes']:8.0f}")
    print(f"model pickle bytes/device       {first['pickle_bytes']:8.0f}   (python)")
    for name in IMPLEMENTATIONS:
        traced, checkpoints = median(name, "traced_bytes"), runs[name][0]["checkpoints"]
        note = f"{name}; target <= 20,000; {checkpoints:.0f} checkpoints"
        print(f"model tracemalloc bytes/device  {traced:8.0f}   ({note})")


def one() -> None:
    print(json.dumps({"implementation": streams.model.IMPLEMENTATION, **measure()}))


if __name__ == "__main__":
    if sys.argv[1:] == ["--one"]:
        one()
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS)
