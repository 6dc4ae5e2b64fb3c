"""Every alert of the catalogue, both ways, as `promtool test rules` input.

A seeded healthy fleet (12 devices, 6 partitions, 4 sink connectors, one worker) scraped every 15 s for
40 minutes, with the noise a real one has: scores wandering between 0.01 and 0.7 with the odd one-sample
surprise above 0.8, non-zero reasons, a reading touching a critical limit for one scrape, devices briefly
`late`, a rebalance's consumer-lag burst, event-lag bursts of tens of seconds, a few bad records per
10 minutes, a missed scrape, and a worker restart and a Connect restart (counters reset, series gone
for a scrape). On it, no alert may fire. Each failure case changes that fleet in one way from minute 10 on;
then exactly its alert fires, not before its `for` has passed, for the device (or thing) that failed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from grafana import metrics as m

SCRAPE_S = 15
MINUTES = 40  # >= 2x the longest `for` of the catalogue (10 min), checked by the tests
SAMPLES = MINUTES * 60 // SCRAPE_S + 1
ONSET_MIN = 10
ONSET = ONSET_MIN * 60 // SCRAPE_S  # sample index where a failure case starts
WORKER_RESTART = 25 * 60 // SCRAPE_S
CONNECT_RESTART = 30 * 60 // SCRAPE_S
DEVICES = [f"d{i:02d}" for i in range(12)]
SENSORS = ("temperature_c", "load_pct", "power_w")
PARTITIONS = range(6)
CONNECTORS = ("readings", "scores", "events", "device-status")
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)  # streams/metrics.py event_lag_seconds
WORKER = 'instance="w:9101",job="fleetpulse-worker"'
CONNECT = 'instance="c:9404",job="fleetpulse-connect"'

Values = list[float | None]  # None: no sample (series absent at that scrape)
Fleet = dict[str, Values]  # series selector -> one value per scrape


def _worker_gauge(values: Values) -> Values:
    """A gauge the worker exposes: absent for the scrape its restart takes."""
    return [None if i == WORKER_RESTART else v for i, v in enumerate(values)]


def _counter(increments: list[float], reset_at: int | None) -> Values:
    """A counter from per-scrape increments; a process restart resets it and misses one scrape."""
    values: Values = []
    total = 0.0
    for i, inc in enumerate(increments):
        if i == reset_at:
            total = 0.0
            values.append(None)
            continue
        total += inc
        values.append(total)
    return values


def _scores(rng: random.Random) -> Fleet:
    fleet: Fleet = {}
    for device in DEVICES:
        base = rng.uniform(0.02, 0.45)
        scores = []
        for _ in range(SAMPLES):
            value = min(0.7, max(0.01, rng.gauss(base, 0.06)))
            if rng.random() < 0.01:  # one surprising reading: the score is its latest value for one scrape
                value = rng.uniform(0.8, 0.95)
            scores.append(round(value, 3))
        fleet[f'{m.DEVICE_SCORE}{{device_id="{device}",{WORKER}}}'] = _worker_gauge(scores)
        if device == DEVICES[0]:
            continue  # a device whose score has no reason
        for rank, sensor in enumerate(SENSORS):
            share = [round(s * rng.uniform(0.3, 1.0) / (rank + 1), 3) for s in scores]
            if rank == 0 and device == DEVICES[1]:
                share[rng.randrange(SAMPLES)] = 1.0  # touched its critical limit for one scrape
            fleet[f'{m.DEVICE_REASON}{{device_id="{device}",sensor="{sensor}",{WORKER}}}'] = _worker_gauge(share)
    return fleet


def _liveness(rng: random.Random) -> Fleet:
    fleet: Fleet = {}
    for device in DEVICES:
        states: Values = []
        late_for = 0
        for _ in range(SAMPLES):
            if late_for == 0 and rng.random() < 0.03:
                late_for = rng.randint(1, 3)  # a slow network: late for up to 45 s
            states.append(1.0 if late_for else 0.0)
            late_for = max(0, late_for - 1)
        fleet[f'{m.DEVICE_LIVENESS}{{device_id="{device}",{WORKER}}}'] = _worker_gauge(states)
    blips = [0.0] * SAMPLES
    for start in (rng.randrange(SAMPLES - 8) for _ in range(3)):
        for i in range(start, start + 8):  # two minutes of a tenth of the fleet silent (a site's Wi-Fi)
            blips[i] = 0.1
    fleet[f"{m.FLEET_SILENT_RATIO}{{{WORKER}}}"] = _worker_gauge(blips)
    return fleet


def _consumer_lag(rng: random.Random) -> Fleet:
    fleet: Fleet = {}
    burst = rng.randrange(ONSET, SAMPLES - 12)  # a rebalance: one partition catches up for three minutes
    for partition in PARTITIONS:
        lag = [float(rng.randint(0, 800)) for _ in range(SAMPLES)]
        if partition == 0:
            for k in range(12):
                lag[burst + k] = 30000.0 * (1 - k / 12)
        fleet[f'{m.CONSUMER_LAG}{{partition="{partition}",{WORKER}}}'] = _worker_gauge(lag)
    return fleet


def _event_lag(rng: random.Random, lag_of: Callable[[int], float]) -> Fleet:
    """The event-lag histogram, 60 readings per scrape: cumulative bucket counters, reset by the worker
    restart."""
    per_bucket: dict[str, list[float]] = {f"{le:g}": [0.0] * SAMPLES for le in LAG_BUCKETS} | {"+Inf": [0.0] * SAMPLES}
    for i in range(SAMPLES):
        for _ in range(60):
            lag = lag_of(i)
            for le in LAG_BUCKETS:
                if lag <= le:
                    per_bucket[f"{le:g}"][i] += 1
            per_bucket["+Inf"][i] += 1
    return {
        f'{m.EVENT_LAG_SECONDS}_bucket{{le="{le}",{WORKER}}}': _counter(incs, WORKER_RESTART)
        for le, incs in per_bucket.items()
    }


def _healthy_lag(rng: random.Random) -> Callable[[int], float]:
    bursts = {rng.randrange(SAMPLES - 4) + k for _ in range(2) for k in range(4)}  # a minute behind, twice

    def lag(i: int) -> float:
        if i in bursts:
            return rng.uniform(10, 40)
        return rng.lognormvariate(math.log(0.3), 0.8)

    return lag


def _dead_letters(rng: random.Random) -> Fleet:
    bad_json = [1.0 if rng.random() < 0.008 else 0.0 for _ in range(SAMPLES)]  # ~3 per 10 min
    fleet = {f'{m.DEAD_LETTERS}{{reason="bad_json",{WORKER}}}': _counter(bad_json, WORKER_RESTART)}
    # Refusals from long ago: the counters exist, stay flat, and are gone after the restart.
    for reason in ("out_of_range", "future_time", "wrong_partition"):
        flat = [3.0 if i < WORKER_RESTART else None for i in range(SAMPLES)]
        fleet[f'{m.DEAD_LETTERS}{{reason="{reason}",{WORKER}}}'] = flat
    return fleet


def _connect() -> Fleet:
    fleet: Fleet = {}
    for connector in CONNECTORS:
        name = f'connector="fleetpulse-{connector}-dynamodb"'
        fleet[f"{m.CONNECT_FAILED_TASKS}{{{name},{CONNECT}}}"] = [
            None if i == CONNECT_RESTART else 0.0 for i in range(SAMPLES)
        ]
        dlq = [2.0 if i == 0 else 0.0 for i in range(SAMPLES)]  # two records from before the window
        fleet[f'{m.CONNECT_DEAD_LETTERS}{{{name},task="0",{CONNECT}}}'] = _counter(dlq, CONNECT_RESTART)
    return fleet


def _up(rng: random.Random) -> Fleet:
    missed = rng.randrange(SAMPLES)  # one scrape timed out
    up = [0.0 if i in (missed, WORKER_RESTART) else 1.0 for i in range(SAMPLES)]
    return {f"{m.UP}{{{WORKER}}}": up}


def healthy_fleet(seed: int = 17) -> Fleet:
    rng = random.Random(seed)
    fleet: Fleet = {}
    for part in (_scores(rng), _liveness(rng), _consumer_lag(rng), _dead_letters(rng), _connect(), _up(rng)):
        fleet |= part
    fleet |= _event_lag(rng, _healthy_lag(rng))
    return fleet


# --- failures: each changes the healthy fleet from ONSET on ---------------------------------------------


def _from_onset(values: Values, value: Callable[[int], float | None]) -> Values:
    return [v if i < ONSET else value(i) for i, v in enumerate(values)]


def _series(fleet: Fleet, prefix: str) -> str:
    return next(key for key in fleet if key.startswith(prefix))


def _score_high(fleet: Fleet, rng: random.Random) -> None:
    key = f'{m.DEVICE_SCORE}{{device_id="d05",{WORKER}}}'
    fleet[key] = _from_onset(fleet[key], lambda i: round(rng.uniform(0.85, 0.95), 3))
    reason = f'{m.DEVICE_REASON}{{device_id="d05",sensor="temperature_c",{WORKER}}}'
    fleet[reason] = _from_onset(fleet[reason], lambda i: 0.9)


def _silent(fleet: Fleet, rng: random.Random) -> None:
    key = f'{m.DEVICE_LIVENESS}{{device_id="d03",{WORKER}}}'
    fleet[key] = _from_onset(fleet[key], lambda i: 2.0 if i < WORKER_RESTART else 3.0)


def _fleet_silent(fleet: Fleet, rng: random.Random) -> None:
    key = f"{m.FLEET_SILENT_RATIO}{{{WORKER}}}"
    fleet[key] = _from_onset(fleet[key], lambda i: 0.35)


def _at_critical(fleet: Fleet, rng: random.Random) -> None:
    key = f'{m.DEVICE_REASON}{{device_id="d07",sensor="power_w",{WORKER}}}'
    fleet[key] = _from_onset(fleet[key], lambda i: 1.0)


def _one_more_dead_letter(reason: str) -> Callable[[Fleet, random.Random], None]:
    def change(fleet: Fleet, rng: random.Random) -> None:
        key = f'{m.DEAD_LETTERS}{{reason="{reason}",{WORKER}}}'
        fleet[key] = _from_onset(fleet[key], lambda i: 4.0 if i < WORKER_RESTART else None)  # one reading

    return change


def _consumer_behind(fleet: Fleet, rng: random.Random) -> None:
    key = f'{m.CONSUMER_LAG}{{partition="2",{WORKER}}}'
    fleet[key] = _from_onset(fleet[key], lambda i: 12000.0 + 100 * (i - ONSET))


def _events_late(fleet: Fleet, rng: random.Random) -> None:
    healthy = _healthy_lag(random.Random(17))
    fleet |= _event_lag(rng, lambda i: healthy(i) if i < ONSET else rng.uniform(200, 3000))


def _dead_letters_growing(fleet: Fleet, rng: random.Random) -> None:
    key = f'{m.DEAD_LETTERS}{{reason="bad_json",{WORKER}}}'
    start = fleet[key][ONSET - 1] or 0.0
    fleet[key] = _from_onset(fleet[key], lambda i: start + 2 * (i - ONSET + 1))  # 8 a minute


def _sink_failing(fleet: Fleet, rng: random.Random) -> None:
    key = _series(fleet, f'{m.CONNECT_FAILED_TASKS}{{connector="fleetpulse-readings-dynamodb"')
    fleet[key] = _from_onset(fleet[key], lambda i: None if i == CONNECT_RESTART else 1.0)


def _connect_dead_letters(fleet: Fleet, rng: random.Random) -> None:
    key = _series(fleet, f'{m.CONNECT_DEAD_LETTERS}{{connector="fleetpulse-scores-dynamodb"')
    fleet[key] = _from_onset(fleet[key], lambda i: 5.0 if i < CONNECT_RESTART else None)


def _worker_down(fleet: Fleet, rng: random.Random) -> None:
    """The worker dies: Prometheus records up=0 and every series the worker exposed goes stale."""
    for key in fleet:
        if WORKER in key:
            fleet[key] = _from_onset(fleet[key], lambda i: None)
    fleet[f"{m.UP}{{{WORKER}}}"] = _from_onset(fleet[f"{m.UP}{{{WORKER}}}"], lambda i: 0.0)


@dataclass(frozen=True)
class Failure:
    alert: str
    change: Callable[[Fleet, random.Random], None]
    target: str  # label matchers naming what failed, e.g. device_id="d05"
    lead_s: int = 0  # how long after the onset the alert's expression crosses its threshold


FAILURES = (
    Failure("DeviceFailureScoreHigh", _score_high, 'device_id="d05"'),
    Failure("DeviceSilent", _silent, 'device_id="d03"'),
    Failure("FleetSilentShareHigh", _fleet_silent, ""),
    Failure("DeviceSensorAtCriticalLimit", _at_critical, 'device_id="d07",sensor="power_w"'),
    Failure("SensorReadingsBeyondPhysicalRange", _one_more_dead_letter("out_of_range"), 'reason="out_of_range"'),
    Failure("ReadingsWithImpossibleTime", _one_more_dead_letter("future_time"), 'reason="future_time"'),
    Failure("ReadingsOnWrongPartition", _one_more_dead_letter("wrong_partition"), 'reason="wrong_partition"'),
    Failure("PipelineConsumerLagHigh", _consumer_behind, ""),
    Failure("PipelineEventLagHigh", _events_late, ""),
    Failure("DeadLettersGrowing", _dead_letters_growing, 'reason="bad_json"', lead_s=45),
    Failure("ConnectSinkFailing", _sink_failing, 'connector="fleetpulse-readings-dynamodb"'),
    Failure("ConnectDeadLetters", _connect_dead_letters, 'connector="fleetpulse-scores-dynamodb"'),
    Failure("WorkerDown", _worker_down, 'instance="w:9101"'),
)


# --- promtool input --------------------------------------------------------------------------------------


def _values(values: Values) -> str:
    return " ".join("_" if v is None else f"{v:g}" for v in values)


def _input(fleet: Fleet) -> list[dict]:
    return [{"series": key, "values": _values(values)} for key, values in fleet.items()]


def _duration(seconds: int) -> str:
    return f"{seconds}s"


def healthy_test() -> dict:
    """Nothing fires at any evaluation in the whole window."""
    window = _duration(MINUTES * 60)
    return {
        "name": "a healthy fleet pages nobody",
        "interval": f"{SCRAPE_S}s",
        "input_series": _input(healthy_fleet()),
        "promql_expr_test": [
            {
                "expr": f'count by (alertname) (count_over_time(ALERTS{{alertstate="firing"}}[{window}]))',
                "eval_time": window,
                "exp_samples": [],
            }
        ],
    }


def failure_test(failure: Failure, for_seconds: int) -> dict:
    """Silent until the failure's threshold has held for `for`, then exactly this alert, for its target."""
    fleet = healthy_fleet()
    failure.change(fleet, random.Random(failure.alert))
    onset = ONSET_MIN * 60
    fires_at = onset + failure.lead_s + for_seconds + 90  # + evaluation interval and a scrape or two
    quiet_until = onset + failure.lead_s + for_seconds - 30 if for_seconds else onset - 30
    selector = f'alertstate="firing",alertname="{failure.alert}"' + (f",{failure.target}" if failure.target else "")
    firing = 'count by (alertname) (ALERTS{alertstate="firing"})'
    return {
        "name": f"{failure.alert} fires on its failure",
        "interval": f"{SCRAPE_S}s",
        "input_series": _input(fleet),
        "promql_expr_test": [
            {"expr": firing, "eval_time": _duration(quiet_until), "exp_samples": []},
            {
                "expr": firing,
                "eval_time": _duration(fires_at),
                "exp_samples": [{"labels": f'{{alertname="{failure.alert}"}}', "value": 1}],
            },
            {
                "expr": f"count(ALERTS{{{selector}}})",
                "eval_time": _duration(fires_at),
                "exp_samples": [{"labels": "{}", "value": 1}],
            },
        ],
    }


def promtool_tests(rule_file: str, for_seconds: dict[str, int], evaluation: str) -> dict:
    """The whole `promtool test rules` file for one rendering of the catalogue."""
    return {
        "rule_files": [rule_file],
        "evaluation_interval": evaluation,
        "tests": [healthy_test()] + [failure_test(f, for_seconds[f.alert]) for f in FAILURES],
    }
