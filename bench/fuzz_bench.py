"""Bad input must never poison state: fuzzed readings through the real batch processor (validation,
admission, windows, liveness clocks, the River model), beside a healthy fleet that keeps reporting.

A seeded fleet of 30 healthy simulated devices (producers/fleet.py, no failures) reports every 5 s on its
murmur2 partitions of 6; records are stamped with the time they were sent, as a producer's are. Between
its readings go N fuzzed inputs (default 10,000), in rotation over the categories below, many of them
carrying the healthy devices' own ids. Each input knows what must become of it (`Expect`): which readings
are applied (each must come out as exactly one score), how many parts are dead-lettered and with which
reasons, how many are skipped as Kafka redeliveries. After every batch the liveness sweep runs on the
partition clocks. Then the same healthy stream runs alone, and every healthy device's state (readings,
windows, liveness, model bytes) must be identical: the fuzz changed nothing about the devices that kept
reporting, so it moved no clock, made no liveness transition and raised no score for them.

`python -m bench.fuzz_bench [N]` prints the table the README shows; tests/streams/test_fuzz.py runs a
smaller N on every test run.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import msgspec

from core.partitioning import partition_for
from producers.fleet import Fleet, invalid_mask, to_readings
from schemas import Reading, Score, encode
from schemas.admission import TimeBounds
from streams.admission import Admission
from streams.liveness import LivenessConfig, PartitionClocks, sweep
from streams.processor import Processor, Record
from streams.state import DeviceState, decode_state

PARTITIONS = 6
DEVICES = 30
CADENCE_MS = 5_000
T0 = 1_795_000_020_000 - 1_795_000_020_000 % 60_000
LATENESS_MS = 10_000
SCHEMA_REASONS = frozenset(
    {"bad_json", "missing_field", "wrong_type", "out_of_range", "implausible", "unknown_value", "bad_identifier"}
)
ANY_REASON = SCHEMA_REASONS | {"empty_batch"}


@dataclass
class Expect:
    """What must become of one fuzzed message."""

    applied: list[tuple[str, int]] = field(default_factory=list)  # (device_id, ts) scored exactly once each
    rejects: int = 0  # dead-lettered parts (the whole message, or envelope elements)
    reasons: frozenset[str] = frozenset()  # allowed reasons of those parts
    replayed: int = 0  # Kafka redeliveries the replay guard must skip


@dataclass
class Fuzzed:
    category: str
    partition: int
    value: bytes
    key: bytes | None
    expect: Expect
    offset: int | None = None  # a redelivery keeps its original offset


@dataclass
class Tally:
    inputs: int = 0
    applied: int = 0
    dead_lettered: Counter[str] = field(default_factory=Counter)
    replayed: int = 0
    wrong: list[str] = field(default_factory=list)


class Generator:
    """Fuzzed inputs for the round at `now`; `honest` is the round's healthy readings."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.serial = 0
        self.sent: list[Record] = []  # healthy records already delivered: candidates for redelivery

    def _fresh(self, category: str) -> str:
        self.serial += 1
        return f"fz-{category}-{self.serial}"

    def _pc(self, device_id: str, ts: int, **values: object) -> dict:
        reading = {"device_id": device_id, "device_type": "pc", "ts": ts, "seq": self.serial}
        return reading | {"temperature_c": 45.0, "load_pct": 20.0, "power_w": 80.0, "clock_ghz": 3.2} | values

    def categories(self) -> dict[str, Callable[[int, list[Reading]], list[Fuzzed]]]:
        return {
            "random bytes": self.random_bytes,
            "wrong types": self.wrong_types,
            "units off by 10^3/10^6/10^9": self.wrong_units,
            "NaN / Infinity": self.nan_infinity,
            "time poison (healthy ids)": self.time_poison,
            "wrong key / partition": self.wrong_key,
            "duplicates (redelivery)": self.redelivery,
            "reordered within lateness": self.reordered_within,
            "reordered beyond lateness": self.reordered_beyond,
            "oversized values": self.oversized_values,
            "oversized / mixed envelopes": self.envelopes,
        }

    def _single(self, category: str, reading: dict | bytes, expect: Expect, partition: int | None = None) -> Fuzzed:
        value = reading if isinstance(reading, bytes) else json.dumps(reading).encode()
        device = reading.get("device_id") if isinstance(reading, dict) else None
        home = partition_for(str(device).encode(), PARTITIONS) if device is not None else self.rng.randrange(PARTITIONS)
        key = str(device).encode() if device is not None else None
        return Fuzzed(category, home if partition is None else partition, value, key, expect)

    def random_bytes(self, now: int, honest: list[Reading]) -> list[Fuzzed]:
        raw = bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(0, 200)))
        if self.rng.random() < 0.3:  # JSON-looking garbage reaches deeper into the decoder
            raw = self.rng.choice([b"[", b"{", b'{"device_id":', b"[]", b"null", b"1", b'"x"', b"[1,2]"]) + raw[:20]
        return [self._single("random bytes", raw, Expect(rejects=1, reasons=ANY_REASON))]

    def wrong_types(self, now: int, honest: list[Reading]) -> list[Fuzzed]:
        victim = self.rng.choice(honest).device_id
        field_, value, reason = self.rng.choice(
            [
                ("ts", "yesterday", "wrong_type"),
                ("seq", -1, "out_of_range"),
                ("temperature_c", "hot", "wrong_type"),
                ("load_pct", [40], "wrong_type"),
                ("device_type", "toaster", "unknown_value"),
                ("battery_charging", "yes", "wrong_type"),
            ]
        )
        reading = self._pc(victim, now) | {field_: value}
        reasons = {reason}
        if self.rng.random() < 0.2:  # and a required field missing: msgspec names whichever it meets first
            reading.pop("device_type")
            reasons = {reason, "missing_field"} if field_ != "device_type" else {"missing_field"}
        return [self._single("wrong types", reading, Expect(rejects=1, reasons=frozenset(reasons)))]

    def wrong_units(self, now: int, honest: list[Reading]) -> list[Fuzzed]:
        victim = self.rng.choice(honest).device_id
        case = self.rng.randrange(5)
        if case == 0:
            reading, reasons = self._pc(victim, now // 1000), {"too_old"}  # seconds for milliseconds
        elif case in (1, 2):
            # µs or ns: past year 9999 already (schema: out_of_range), else refused by admission
            reading, reasons = self._pc(victim, now * 10 ** (3 * case)), {"future_time", "out_of_range"}
        elif case == 3:
            reading, reasons = self._pc(victim, now, clock_ghz=3200.0), {"out_of_range", "implausible"}  # MHz
        else:
            reading, reasons = self._pc(victim, now, power_w=80_000.0), {"out_of_range", "implausible"}  # mW
        return [self._single("units off by 10^3/10^6/10^9", reading, Expect(rejects=1, reasons=frozenset(reasons)))]

    def nan_infinity(self, now: int, honest: list[Reading]) -> list[Fuzzed]:
        victim = self.rng.choice(honest).device_id
        literal = self.rng.choice(["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
        raw = json.dumps(self._pc(victim, now, temperature_c="@")).replace('"@"', literal).encode()
        reasons = frozenset({"bad_json", "out_of_range", "wrong_type"})
        return [self._single("NaN / Infinity", raw, Expect(rejects=1, reasons=reasons))]

    def time_poison(self, now: int, honest: list[Reading]) -> list[Fuzzed]:
        victim = self.rng.choice(honest)
        ts, reason = self.rng.choice(
            [
                (3_500_000_000_000, "future_time"),  # 2080
                (now + 3_600_000, "future_time"),
                (now + 301_000, "future_time"),
                (0, "too_old"),
                (now - 30 * 86_400_000, "too_old"),
            ]
        )
        reading = self._pc(victim.device_id, ts) | {"device_type": victim.device_type}
        for sensor in ("temperature_c", "load_pct", "power_w", "clock_ghz"):
            reading[sensor] = getattr(victim, sensor)  # plausible for its type: only the time is wrong
        return [self._single("time poison (healthy ids)", reading, Expect(rejects=1, reasons=frozenset({reason})))]

    def wrong_key(self, now: int, honest: list[Reading]) -> list[Fuzzed]:
        victim = self.rng.choice(honest)
        reading = msgspec.to_builtins(victim) | {"ts": now - 1_000}
        home = partition_for(victim.device_id.encode(), PARTITIONS)
        if self.rng.random() < 0.5:  # keyed by something else, landed elsewhere
            elsewhere = (home + self.rng.randrange(1, PARTITIONS)) % PARTITIONS
            expect = Expect(rejects=1, reasons=frozenset({"wrong_partition"}))
            return [self._single("wrong key / partition", reading, expect, partition=elsewhere)]
        # keyed by something else but on the right partition (a fresh device): applied, state co-partitioned
        fresh = self._fresh("key")
        reading = self._pc(fresh, now)
        fuzzed = self._single("wrong key / partition", reading, Expect(applied=[(fresh, now)]))
        fuzzed.key = b"not-" + fresh.encode()
        return [fuzzed]

    def redelivery(self, now: int, honest: list[Reading]) -> list[Fuzzed]:
        record = self.rng.choice(self.sent)
        fuzzed = Fuzzed("duplicates (redelivery)", record.partition, record.value, record.key, Expect(replayed=1))
        fuzzed.offset = record.offset
        return [fuzzed]

    def _pair(self, category: str, now: int, back_ms: int) -> list[Fuzzed]:
        device = self._fresh("order")
        first, second = self._pc(device, now), self._pc(device, now - back_ms, temperature_c=46.0)
        return [
            self._single(category, first, Expect(applied=[(device, now)])),
            self._single(category, second, Expect(applied=[(device, now - back_ms)])),
        ]

    def reordered_within(self, now: int, honest: list[Reading]) -> list[Fuzzed]:
        return self._pair("reordered within lateness", now, self.rng.randrange(1_000, LATENESS_MS))

    def reordered_beyond(self, now: int, honest: list[Reading]) -> list[Fuzzed]:
        return self._pair("reordered beyond lateness", now, self.rng.randrange(2 * 60_000, 10 * 60_000))

    def oversized_values(self, now: int, honest: list[Reading]) -> list[Fuzzed]:
        victim = self.rng.choice(honest).device_id
        case = self.rng.randrange(4)
        if case == 0:
            reading, reason = self._pc("d" * 10_000, now), "bad_identifier"
        elif case == 1:
            reading, reason = self._pc(victim, now, temperature_c=1e300), "out_of_range"
        elif case == 2:
            reading, reason = self._pc(victim, now, battery_health="a" * 200_000), "bad_identifier"
        else:
            reading, reason = self._pc(victim, 10**30), "out_of_range"  # past int64 (JSON has no limit)
        reasons = frozenset(reason.split("|"))
        return [self._single("oversized values", reading, Expect(rejects=1, reasons=reasons))]

    def envelopes(self, now: int, honest: list[Reading]) -> list[Fuzzed]:
        """One array on one partition: a few fresh devices' good readings among many bad elements."""
        partition = self.rng.randrange(PARTITIONS)
        locals_ = [r for r in honest if partition_for(r.device_id.encode(), PARTITIONS) == partition]
        strangers = [r for r in honest if partition_for(r.device_id.encode(), PARTITIONS) != partition]
        size = self.rng.choice([5, 50, 500])
        elements: list[bytes] = []
        expect = Expect(reasons=frozenset({"wrong_partition", "future_time", "too_old", "out_of_range", "bad_json"}))
        broken = self.rng.randrange(size) if self.rng.random() < 0.2 else -1  # one element not even JSON
        for position in range(size):
            kind = 5 if position == broken else self.rng.randrange(5)
            if kind == 0:  # a fresh device of this partition, valid: applied
                device = next(d for d in (self._fresh("env") for _ in range(100)) if self._home(d) == partition)
                elements.append(json.dumps(self._pc(device, now)).encode())
                expect.applied.append((device, now))
                continue
            expect.rejects += 1
            if kind == 1 and strangers:
                elements.append(encode(msgspec.structs.replace(self.rng.choice(strangers), ts=now - 1)))
            elif kind == 2 and locals_:
                elements.append(encode(msgspec.structs.replace(self.rng.choice(locals_), ts=now + 86_400_000)))
            elif kind == 3 and locals_:
                elements.append(encode(msgspec.structs.replace(self.rng.choice(locals_), ts=1)))
            elif kind == 5:
                elements.append(b'{"device_id": ')
            else:
                elements.append(json.dumps(self._pc(self._fresh("env"), now, load_pct=1e9)).encode())
        value = b"[" + b",".join(elements) + b"]"
        if broken >= 0:  # not JSON as a whole: one rejection, nothing applied
            expect = Expect(rejects=1, reasons=frozenset({"bad_json"}))
        return [Fuzzed("oversized / mixed envelopes", partition, value, b"envelope", expect)]

    @staticmethod
    def _home(device_id: str) -> int:
        return partition_for(device_id.encode(), PARTITIONS)


@dataclass
class Run:
    table: dict[str, bytes]
    honest_ids: set[str]
    tallies: dict[str, Tally]
    honest_transitions: int
    crashes: int
    batches: int
    fuzzed_readings_late: int
    seconds: float


def _processor(wall: list[float], admit: bool) -> Processor:
    clocks = PartitionClocks(rate=1.0, wall=lambda: wall[0])
    return Processor(LATENESS_MS, clocks=clocks, admission=Admission(TimeBounds(), PARTITIONS) if admit else None)


def _honest_rounds(rounds: int) -> Iterator[tuple[int, list[Reading]]]:
    fleet = Fleet(size=DEVICES, seed=17, cadence_ms=CADENCE_MS, failure_rate_per_hour=0.0)
    fleet.start(T0)
    fleet.take_events()
    for r in range(rounds):
        ts = T0 + r * CADENCE_MS
        batch = fleet.step(ts)
        bad, _ = invalid_mask(fleet, batch)
        yield ts, to_readings(fleet, batch, skip=bad)


def run(fuzz_inputs: int, rounds: int = 400, seed: int = 17, admit: bool = True) -> Run:
    """The healthy fleet for `rounds` rounds with `fuzz_inputs` fuzzed inputs spread over them (0: alone).
    `admit=False` is the control: the same inputs without event-time and partition admission, unchecked."""
    rng = random.Random(seed)
    wall = [T0 / 1000]
    processor = _processor(wall, admit)
    config = LivenessConfig()
    generator = Generator(rng)
    makers = list(generator.categories().items())
    offsets = [0] * PARTITIONS
    table: dict[str, bytes] = {}
    tallies = {name: Tally() for name, _ in makers}
    honest_ids: set[str] = set()
    transitions = crashes = late = batches = made = 0
    started = time.perf_counter()
    for round_index, (now, honest) in enumerate(_honest_rounds(rounds)):
        wall[0] = now / 1000  # the simulated wall clock: the producers send as the readings happen
        pairs: list[tuple[Record, Fuzzed | None]] = []
        for reading in honest:
            honest_ids.add(reading.device_id)
            partition = partition_for(reading.device_id.encode(), PARTITIONS)
            pairs.append(
                (Record(partition, offsets[partition], encode(reading), reading.device_id.encode(), now), None)
            )
            offsets[partition] += 1
        due = fuzz_inputs * (round_index + 1) // rounds - made
        for _ in range(due if generator.sent else 0):
            name, make = makers[made % len(makers)]
            made += 1
            tallies[name].inputs += 1
            for fuzzed in make(now, honest):
                offset = fuzzed.offset
                if offset is None:
                    offset = offsets[fuzzed.partition]
                    offsets[fuzzed.partition] += 1
                pairs.append((Record(fuzzed.partition, offset, fuzzed.value, fuzzed.key, now), fuzzed))
        pairs.sort(key=lambda pair: (pair[0].partition, pair[0].offset))  # as the worker applies a batch
        batch = [record for record, _ in pairs]
        expects = {index: fuzzed for index, (_, fuzzed) in enumerate(pairs) if fuzzed is not None}
        try:
            result = processor.process(batch, lambda device_id, _p: table.get(device_id))
        except Exception as error:  # a crash of the worker's batch: counted, the run goes on
            crashes += 1
            if crashes <= 3:
                print(f"crash in round {round_index}: {error!r}", file=sys.stderr)
            continue
        batches += 1
        for device_id, (_, value) in result.writes.items():
            table[device_id] = value
        late += result.late
        if admit:
            _check(batch, expects, result, honest, tallies)
        generator.sent.extend(record for record, fuzzed in pairs if fuzzed is None)
        for change in sweep(processor.live, processor.clocks.now(), config):
            if change.device_id in honest_ids:
                transitions += 1
    elapsed = time.perf_counter() - started
    return Run(table, honest_ids, tallies, transitions, crashes, batches, late, elapsed)


def _check(
    batch: list[Record], expects: dict[int, Fuzzed], result: object, honest: list[Reading], tallies: dict[str, Tally]
) -> None:
    scores: Counter[tuple[str, int]] = Counter()
    for _, value in result.scores:  # type: ignore[attr-defined]
        score = msgspec.json.decode(value, type=Score)
        scores[(score.device_id, score.ts)] += 1
    rejects: dict[int, list[str]] = defaultdict(list)
    for index, part in result.rejects:  # type: ignore[attr-defined]
        rejects[index].append(part.error.reason)
    for reading in honest:
        assert scores.pop((reading.device_id, reading.ts), 0) == 1, f"healthy {reading.device_id} not scored once"
    expected_replays = sum(f.expect.replayed for f in expects.values())
    assert result.replayed == expected_replays, (result.replayed, expected_replays)  # type: ignore[attr-defined]
    for index, fuzzed in expects.items():
        tally, expect = tallies[fuzzed.category], fuzzed.expect
        reasons = rejects.pop(index, [])
        applied = [scores.pop(key, 0) for key in expect.applied]
        problems = []
        if len(reasons) != expect.rejects or not set(reasons) <= expect.reasons:
            problems.append(f"dead-lettered {reasons}, expected {expect.rejects} of {sorted(expect.reasons)}")
        if applied != [1] * len(expect.applied):
            problems.append(f"scored {applied} times, expected once each")
        if problems:
            tally.wrong.append(f"{fuzzed.value[:120]!r}: {'; '.join(problems)}")
            continue
        tally.applied += len(expect.applied)
        tally.dead_lettered.update(reasons)
        tally.replayed += expect.replayed
    for index, reasons in rejects.items():
        raise AssertionError(f"record {index} dead-lettered {reasons} unexpectedly: {batch[index].value[:200]!r}")
    assert not scores, f"scores nobody expected: {list(scores)[:5]}"


def _comparable(raw: bytes) -> DeviceState:
    """A device's state without its source offsets (the fuzz shares its partitions, so offsets differ)."""
    return msgspec.structs.replace(decode_state(raw), last_offset=-1)


def healthy_states_differ(fuzzed: Run, alone: Run) -> list[str]:
    return [d for d in sorted(alone.honest_ids) if _comparable(fuzzed.table[d]) != _comparable(alone.table[d])]


def report(fuzzed: Run, alone: Run, control: Run | None = None) -> str:
    lines = [
        "| input | tried | applied | dead-lettered (reasons) | skipped as redelivery | wrong |",
        "|---|---|---|---|---|---|",
    ]
    for name, tally in fuzzed.tallies.items():
        reasons = ", ".join(f"{reason} {count}" for reason, count in tally.dead_lettered.most_common())
        lines.append(
            f"| {name} | {tally.inputs:,} | {tally.applied:,} | {sum(tally.dead_lettered.values()):,}"
            f"{f' ({reasons})' if reasons else ''} | {tally.replayed:,} | {len(tally.wrong)} |"
        )
    total = sum(t.inputs for t in fuzzed.tallies.values())
    wrong = sum(len(t.wrong) for t in fuzzed.tallies.values())
    differ = healthy_states_differ(fuzzed, alone)
    lines += [
        "",
        f"{total:,} fuzzed inputs, {wrong} handled wrongly; {fuzzed.crashes} crashes in {fuzzed.batches} batches; "
        f"{len(fuzzed.honest_ids)} healthy devices: {fuzzed.honest_transitions} liveness transitions "
        f"(alone: {alone.honest_transitions}), {len(differ)} whose state differs from the run without fuzz; "
        f"{fuzzed.fuzzed_readings_late} fuzzed readings counted late; {fuzzed.seconds:.1f} s "
        f"(alone {alone.seconds:.1f} s).",
    ]
    if control is not None:
        lines.append(
            f"Control, the same inputs without admission: {control.honest_transitions} liveness transitions of "
            f"healthy devices, {len(healthy_states_differ(control, alone))} of {len(alone.honest_ids)} healthy "
            f"devices' states changed by the fuzz, {control.crashes} crashes."
        )
    return "\n".join(lines)


def main() -> int:
    inputs = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    fuzzed, alone, control = run(inputs), run(0), run(inputs, admit=False)
    print(report(fuzzed, alone, control))
    for tally in fuzzed.tallies.values():
        for problem in tally.wrong[:3]:
            print("wrong:", problem)
    bad = fuzzed.crashes or fuzzed.honest_transitions or healthy_states_differ(fuzzed, alone)
    return 1 if bad or any(t.wrong for t in fuzzed.tallies.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
