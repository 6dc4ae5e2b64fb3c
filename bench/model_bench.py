"""Scoring cost per reading, envelope dump/load cost and memory per device: the River device model beside
the baseline rule, and the worker's path (a batch of devices, each opened from its envelope bytes,
scored through ModelService and closed back to bytes).

Run: .venv/bin/python bench/model_bench.py  (bounded: ~20k readings, a few seconds)
"""

from __future__ import annotations

import pickle
import random
import time
import tracemalloc
from collections.abc import Callable

from schemas import Reading
from streams import baseline
from streams.model import envelope
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
    scores its readings and closes it to bytes."""
    rng = random.Random(3)
    service, stored = ModelService(), {}
    devices = [f"batch-{d}" for d in range(BATCH_DEVICES)]
    total, started = 0, 0.0
    for b in range(BATCHES):
        if b == 2:  # the first batches start devices cold; time the steady state
            started, total = time.perf_counter(), 0
        for device in devices:
            model = service.open("pc", stored.get(device))
            for k in range(BATCH_READINGS):
                seq = b * BATCH_READINGS + k
                ts, values = _healthy(range(seq, seq + 1), rng)[0]
                reading = Reading(device_id=device, device_type="pc", ts=ts, seq=seq, **values)
                service.score(model, reading, now_ms=0)
                total += 1
            stored[device] = service.close(model)
    return (time.perf_counter() - started) / total * 1e6


def main() -> None:
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
    print(f"readings scored                 {len(readings):>8} ({DEVICES} devices)")
    print(f"baseline rule      µs/reading   {base_us:8.1f}")
    print(f"river device model µs/reading   {model_us:8.1f}   ({model_us / base_us:.1f}x the baseline)")
    print(f"labelled device    µs/reading   {labelled_us:8.1f}   (supervised half ready)")
    print(
        f"worker batch       µs/reading   {batch_us:8.1f}   ({BATCH_DEVICES} devices x {BATCH_READINGS} readings, "
        "envelope load + score + dump, amortised)"
    )
    print(f"envelope dump      µs/device    {dump_us:8.1f}")
    print(f"envelope load      µs/device    {load_us:8.1f}")
    print(f"model envelope bytes/device     {len(data):8d}")
    print(f"model pickle bytes/device       {pickled:8d}")
    print(f"model tracemalloc bytes/device  {traced:8.0f}   (target <= 20,000; {checkpoints} checkpoints)")


if __name__ == "__main__":
    main()
