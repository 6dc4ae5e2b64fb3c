"""The worker's per-batch logic alone (`Processor.process`, no Kafka, no Faust), on the batches a worker takes
from batch envelopes: CPU time per reading, and a digest of every output, to compare code changes that must
keep outputs bit-identical (run the same command on the old and the new code; the digests must match).

Workload: `bench.streams_bench`'s readings (4,000 devices x 50 rounds at 5 s, so windows close), as envelopes
of `per_message` readings on 6 partitions, taken in batches as the worker takes them (up to
`worker_batch_size` messages and as many KiB), the processor built as `streams.pipeline` builds it (admission,
aggregated storage policy, kept decoded models), lateness 0 as the benches run the worker. `--mixed` also
makes some readings late, re-sent or invalid so those paths are in the digest. The clock is fixed, so scores
(`scored_at`) and the digest are reproducible. A second digest covers only what is sent to topics other than
the changelog: it must match when a change alters how states are written down (not what they stand for).

Usage: `python -m bench.processor_bench [model|baseline] [per_message=20] [--mixed] [--profile] [--rounds=N]`.
"""

from __future__ import annotations

import gc
import hashlib
import inspect
import sys
import time
from collections.abc import Iterator

from bench.worker_profile import Sampler
from core.partitioning import Partitioner
from core.settings import Settings
from producers.batching import envelopes
from schemas import Reading, encode
from schemas.admission import TimeBounds
from streams.admission import Admission
from streams.continuity import in_offset_order
from streams.liveness import PartitionClocks
from streams.processor import BatchResult, Processor, Record
from streams.scoring import make_scorer
from streams.storage import StoragePolicy

DEVICES, ROUNDS, CADENCE_MS, PARTITIONS = 4_000, 50, 5_000, 6
T0 = 1_790_000_040_000 // 60_000 * 60_000  # a fixed minute (2026-09): reproducible digests
NOW_S = T0 / 1000 + 3_600.0  # the fixed wall clock: an hour after the first reading
KEPT = "kept_devices" in inspect.signature(Processor).parameters  # states kept decoded (as streams.pipeline)


def _reading(device: int, round_: int, mixed: bool) -> bytes:
    kind = ("pc", "server", "raspberry_pi", "phone")[device % 4]
    ts = T0 + round_ * CADENCE_MS
    n = device * ROUNDS + round_
    if mixed and n % 37 == 5:
        ts -= 71_300  # its minute has closed: late
    reading = Reading(
        device_id=f"bench-{device:06d}",
        device_type=kind,
        ts=ts,
        seq=round_,
        temperature_c=40.0 + (device * 7 + round_) % 13 + (n % 7) * 0.1,
        power_w=5.0 + (device + round_) % 9,
        load_pct=float((device + 3 * round_) % 100),
        voltage_v=3.8 if kind == "phone" else 5.1 if kind == "raspberry_pi" else 12.0,
        clock_ghz=1.5,
        fan_cfm=20.0 + round_ % 5 if device % 8 == 1 else None,  # some servers: a sparser sensor
    )
    value = encode(reading)
    if mixed and n % 503 == 7:
        value = value.replace(b'"temperature_c":', b'"temperature_c":"hot","x":')  # invalid element
    return value


def messages(per_message: int, mixed: bool, rounds: int) -> list[Record]:
    """The envelopes of every round, with the offsets Kafka would give them, in produce order."""
    partitioner = Partitioner(PARTITIONS)
    offsets = [0] * PARTITIONS
    out = []
    for r in range(rounds):
        pairs = [(f"bench-{d:06d}".encode(), _reading(d, r, mixed)) for d in range(DEVICES)]
        if mixed and r % 10 == 3:
            pairs += pairs[: DEVICES // 50]  # re-sent readings (the same event times again)
        for partition, key, value, _ in envelopes(pairs, partitioner, per_message):
            out.append(Record(partition, offsets[partition], value, key, T0 + r * CADENCE_MS))
            offsets[partition] += 1
    return out


def batches(records: list[Record], max_messages: int, max_bytes: int) -> Iterator[list[Record]]:
    """As `lean_faust.take_batches` cuts them (count, then bytes past the first), in offset order."""
    batch: list[Record] = []
    size = 0
    for record in records:
        batch.append(record)
        size += len(record.value)
        if len(batch) >= max_messages or size >= max_bytes:
            yield in_offset_order(batch)
            batch, size = [], 0
    if batch:
        yield in_offset_order(batch)


def processor(scorer: str) -> Processor:
    settings = Settings()
    return Processor(
        lateness_ms=0,
        clocks=PartitionClocks(wall=lambda: NOW_S),
        scorer=make_scorer(scorer, settings.worker_model_cache_devices),
        admission=Admission(TimeBounds.from_seconds(300.0, 7 * 86_400.0), PARTITIONS),
        storage=StoragePolicy.from_settings(settings),
        **({"kept_devices": settings.worker_model_cache_devices} if KEPT else {}),
    )


def digest_into(hasher: hashlib._Hash, sent: hashlib._Hash, result: BatchResult) -> None:
    """`hasher`: everything the batch gives; `sent`: only what goes to topics other than the changelog (when
    a change alters how states are written down but must not alter what the worker sends)."""
    for topic in (result.scores, result.stats, result.stored_scores, result.stored_windows):
        for key, value in topic:
            hasher.update(key + b"\0" + value + b"\n")
            sent.update(key + b"\0" + value + b"\n")
    for device_id, (partition, value) in result.writes.items():
        hasher.update(f"{device_id}/{partition}/".encode() + value + b"\n")
    for index, part in result.rejects:
        hasher.update(f"{index}/{part.index}/{part.error}/".encode() + part.payload + b"\n")
    counts = (result.applied, result.late, result.replayed, result.duplicated, len(result.lags_s))
    hasher.update(repr(counts).encode())


def run(scorer: str, per_message: int, mixed: bool, profile: bool, rounds: int) -> None:
    settings = Settings()
    records = messages(per_message, mixed, rounds)
    work = list(batches(records, settings.worker_batch_size, settings.worker_batch_kbytes * 1024))
    proc = processor(scorer)
    table: dict[str, bytes] = {}
    hasher, sent = hashlib.sha256(), hashlib.sha256()
    sampler = Sampler()
    real_time = time.time
    time.time = lambda: NOW_S  # type: ignore[assignment]  # scored_at and lags: reproducible
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)  # as streams/worker.py runs the worker
    try:
        if profile:
            sampler.start()
        cpu, applied, steady_cpu, steady_applied = 0.0, 0, 0.0, 0
        late = duplicated = rejected = 0
        for index, batch in enumerate(work):
            began = time.process_time()
            result = proc.process(batch, lambda device_id, _partition: table.get(device_id))
            used = time.process_time() - began
            table.update({device_id: value for device_id, (_, value) in result.writes.items()})
            cpu, applied = cpu + used, applied + result.applied
            late, duplicated = late + result.late, duplicated + result.duplicated
            rejected += len(result.rejects)
            if index >= len(work) // 5:  # past the first rounds, where every device's model is new
                steady_cpu, steady_applied = steady_cpu + used, steady_applied + result.applied
            digest_into(hasher, sent, result)
        sampler.stop()
    finally:
        time.time = real_time  # type: ignore[assignment]
    print(
        f"{scorer}, {per_message}/message{', mixed' if mixed else ''}: {applied:,} readings applied ({late} late, "
        f"{duplicated} re-sent, {rejected} rejected) in {len(work)} batches; CPU per reading in process(): "
        f"{1e6 * cpu / applied:.1f} us, {1e6 * steady_cpu / max(steady_applied, 1):.1f} us past the first fifth; "
        f"digest {hasher.hexdigest()[:16]}, of what is sent {sent.hexdigest()[:16]}"
    )
    if profile:
        print(sampler.report(60))


def main(argv: list[str]) -> None:
    flags = {a for a in argv if a.startswith("--")}
    args = [a for a in argv if not a.startswith("--")]
    rounds = next((int(f.split("=")[1]) for f in flags if f.startswith("--rounds=")), ROUNDS)
    scorer = args[0] if args else "model"
    per_message = int(args[1]) if len(args) > 1 else 20
    run(scorer, per_message, "--mixed" in flags, "--profile" in flags, rounds)


if __name__ == "__main__":
    main(sys.argv[1:])
