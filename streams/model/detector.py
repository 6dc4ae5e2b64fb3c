"""One device's model: three unsupervised channels, physical evidence, and what failures looked like.

`DeviceModel.update(ts, values)` is prequential: it scores the reading against what the model knew
before it, then learns from it. The score is `to_score(L)` (calibration.py: the same monotone map for
every device, never exactly 1) of the largest of three channels' surprise, plus physical evidence that
needs no learned baseline (headroom to the critical limit, under-voltage/throttle flags); once the
supervised model has seen enough labels, its probability of "fails within H" is blended in.

- Anomaly channel (change): per sensor, the reading's z against the device's robust baseline, the
  recent mean of z in units of its healthy spread, three short-memory predictions (predictor.py: level,
  previous reading, time of day), stillness and the thermal residual; the largest, Bonferroni-corrected,
  is re-calibrated against the device's own history of readings that did not alert. It alerts on
  change: alert-level surprise the device has already shown is discounted (half-life 240 readings) and
  after an alert the level is learned 10x faster for a while, so a persisting new level makes one
  alert, not one per reading.
- Degradation channel (wear): per tracked sensor, the distance from a reference fixed on the device's
  healthy early life (degradation.py). Time never moves that reference, so a slow degradation, which
  the anomaly channel learns as the new normal, keeps counting here; it alerts again only when the
  evidence has doubled. A device with a load and a temperature has one more slot: its temperature at
  the load of its early life (HEAT_AT_LOAD), which dried paste raises and a busier day does not.
- Records channel (new levels): per tracked sensor, a value beyond anything the device has shown, as
  rare as the device has been watched long (records.py); it ratchets like the degradation channel.

A failure label re-levels the device: the repaired device's normal is re-learned (its noise scales
kept), its degradation reference is fixed afresh and its records start again.
"""

from __future__ import annotations

import math
import operator
from array import array
from typing import Final, NamedTuple

from schemas.scores import ALERT_THRESHOLD
from schemas.units import LIMITS, SENSORS
from streams.model import features, telemetry
from streams.model.calibration import EmpiricalTail, gaussian_surprise, threshold_to_surprise, to_score
from streams.model.degradation import REF_READINGS, Degradation
from streams.model.drift import DriftWatch
from streams.model.features import RESIDUAL, RESIDUAL_Z, SCALE_FLOOR, STILL_FREEZE, SensorBaseline, baseline_config
from streams.model.predictor import BIN_MS, Predictors
from streams.model.records import Records
from streams.model.supervised import FEEDBACK_WEIGHT, HORIZON_MS, POSITIVE_WEIGHT, LabelBuffer, Supervised

MODEL_VERSION: Final = 12
MODEL_NAME: Final = f"river-device-v{MODEL_VERSION}"
ALPHA: Final = 0.002  # baseline learning rate per reading (~500 readings memory; ~40 min at 5 s)
# The per-reading rates here and in features.py were chosen for devices reporting every 5 s. A device that
# reports faster learns at the same rate per 5 s (pace < 1), so a slow failure (dried paste warming a chip
# over an hour) is not learned as normal 5x sooner on a phone at 1 s; at 5 s and slower nothing changes
# (NAB's series and C-MAPSS's cycles keep their per-reading memory, which their figures were measured with).
REFERENCE_CADENCE_MS: Final = 5000.0
COLD_WARMUP: Final = 60  # readings before a cold device's baseline may alert
PRIOR_WARMUP: Final = 12  # with the fleet's scales known, only the device's own level must be learned
LIMIT_WEIGHT: Final = 6.0  # L per unit of warning→critical distance: at critical, L = 6 (score 0.67)
FLAG_SURPRISE: Final = {0x1: 2.0, 0x4: 1.0}  # under-voltage now, throttled now
STILL_START: Final = 2.0  # stillness (log2) above this adds L at this rate
STILL_WEIGHT: Final = 1.5
SUPERVISED_SHARE: Final = 0.5
TRUSTED_EPISODES: Final = 20  # labelled failures/verdicts before the supervised half gets its full share
HABIT_FROM: Final = threshold_to_surprise(ALERT_THRESHOLD)  # only surprise that alerted habituates
EVIDENCE_MAX: Final = 10.0  # a sustained shift adds at most this much surprise; beyond, the reading itself speaks
HABIT_FREE: Final = 2.0  # surprise (log10) below which nothing is discounted: ordinary noise never habituates
HABIT_DECAY: Final = 0.5 ** (1 / 240)  # half-life 240 readings (20 min at 5 s)
ACCEPT_READINGS: Final = 120  # after an alert, the level learns 10x faster for 120 readings
ACCEPT_FACTOR: Final = 10.0
DRIFT_SCALES: Final = 3.0  # a level accepted this many scales from where it was = a regime change (drift)
# Sensors whose failures go one way: a chip gets hotter when its cooling fails, and a colder reading is no
# precursor of any failure (a stuck thermometer is caught by stillness). Counting its cold side only
# doubled that test's false alarms (low-load spells on seed 1).
HOT_ONLY: Final = frozenset({"temperature_c"})
# The way each product sensor moves when its device fails (hotter, more load and power, a sagging supply, a
# slowing fan, a throttled clock). Short-memory predictions count misses that way only, and so does a workload
# sensor's sustained shift: the other way is the device being asked for less (a phone going idle), which no
# one needs to be woken for. Sensors the product does not know count both ways.
FAILURE_SIDE: Final = {"temperature_c": 1, "load_pct": 1, "power_w": 1, "voltage_v": -1, "fan_cfm": -1, "clock_ghz": -1}
# Records (records.py): a device's value beyond anything it has shown. Alert level in decades per device-hour:
# 3, the product's false-alert budget (one per 1,000 device-hours), so that on a healthy device whose readings
# are representative of it the records alone stay within it: a two-sided record alerts once the device has
# been watched for ~2,000 hours, sooner when it goes well beyond. Mapped onto the anomaly channel's scale so
# that it alerts at the same score (on the NAB subset 2.3 scores +0.5 standard, -1.1 low-FP). Tracked for the
# sensors whose level belongs to the device (see _plan), not for a workload-driven one: it sets records
# whenever the device is asked for more than ever (a simulated server's busiest spell, 1 °C above its
# 7-hour temperature record, alerted).
RECORD_ALERT: Final = 3.0
# The degradation channel's slot for heat (HEAT_AT_LOAD) reads one reading per this much event time. A chip's
# temperature at a given load wanders with the load's recent history for minutes: consecutive readings are not
# independent samples of it, so a reference of 30 of them saw one moment of the wander (and took the rest for
# wear), and their smoothed z was far noisier than the channel's null. Two minutes apart, its reference spans
# an hour of the device's load and its smoothed z ~20 minutes.
HEAT_SPACING_MS: Final = 120_000.0
HEAT_AT_LOAD: Final = "temperature_c@load"  # the slot's name (its fleet prior's key)
# Its smallest spread: the room. A chip's temperature at a given load moves with the air around it, a degree or
# two over a day, which the hour of the slot's reference does not see. At the sensor's own floor (0.05 °C) a
# room's daily swing of +-1-2 °C alerted as wear; dried paste adds 4-20 °C.
HEAT_FLOOR_C: Final = 1.0
THERMAL_LAG_RATE: Final = 0.15  # load smoothing per reading (~30 s time constant at 5 s: a heat sink's lag)
RELEVEL_PSEUDO_N: Final = 200  # after a failure, the old noise scale counts as this many readings
CHECKPOINT_MS: Final = 60 * 60_000  # noise-state checkpoints: hourly, the last 4 hours
CHECKPOINTS: Final = 4
# Product sensors whose healthy level is a property of the device, not of its workload, so a lasting move
# away from the device's early life is wear (a fan losing airflow, a supply sagging). Load, power, clock
# and temperature follow what the device is asked to do; their faults show as change (the anomaly
# channel) and as heat the load does not explain. Sensors the product does not know (a turbofan's, a
# generic metric's) are all tracked: nothing says their level may wander.
WEAR_SENSORS: Final = frozenset({"fan_cfm", "voltage_v"})
# Product sensors that measure what the device is asked to do. One busy reading is somebody opening an app,
# never a failure sign, however rare its size: for these only a sustained shift (and a limit) counts, not
# a single reading's distance or a single missed prediction. Every false alert on the simulator's healthy
# devices was one such reading: load and its power together, 5 scales up for one reading.
WORKLOAD_SENSORS: Final = frozenset({"load_pct", "power_w"})
# Product sensors that follow the load within seconds: a PC's clock scales up and its chip heats up when it
# gets busy. In a model with a load sensor (every product device's), their single readings and missed
# predictions are no test either: a synthetic but ordinary desktop's bursts of use (idle at 0.9 GHz and
# 40 °C, a minute at 4.4 GHz and 65 °C) alerted ~60 times a day. The thermal residual (heat the load does
# not explain), their sustained shifts toward failure and the limits still count; the temperature's shift only
# as far as the residual has shifted too (a morning's busier idle warmed a desktop's chip for longer than any
# burst before it: a duration record every few days, half of that desktop's false alerts). So do the tests in
# the Bonferroni correction, so every other test is judged as before (dropping them cost the simulator false
# alerts on seed 3).
LOAD_DRIVEN: Final = frozenset({"temperature_c", "clock_ghz"})
# Pattern habituation: an alert whose pattern (same sensor, same side of its level, a distance from the level
# within PATTERN_TOL of an earlier alert's) has already alerted PATTERN_EXPECTED times, each within PATTERN_SPAN
# readings of the last, is expected, not news: a series with regular identical bursts alerts on the first
# two, not on every one. Twice, not once: a single earlier alert of a similar size is often a coincidence
# (on NAB, suppressing from the first repeat cost real windows and made the score swing with the tolerance).
# Each repeat renews its pattern, so a burst that keeps recurring stays expected.
PATTERN_EXPECTED: Final = 2
PATTERN_SLOTS: Final = 4
PATTERN_SPAN: Final = 2880  # readings: 4 h at 5 s, 10 days at 5 min
PATTERN_TOL: Final = 0.2
RECORD_SCALE: Final = HABIT_FROM / RECORD_ALERT
TREND_RATE: Final = 0.05  # EW smoothing of the degradation surprise's rate of change (time to the alert level)
_math_log10: Final = math.log10  # bound once: compiled, math.log10 is otherwise looked up in the module per call


class Explanation:
    # Plain classes, not dataclasses (here and Assessment): compiled, their constructors are native (a
    # dataclass's generated __init__ runs as interpreted Python, once per reading).
    __slots__ = ("detail", "sensor", "surprise", "value")

    def __init__(self, sensor: str, value: float, surprise: float, detail: str) -> None:
        self.sensor = sensor
        self.value = value
        self.surprise = surprise
        self.detail = detail

    def _fields(self) -> tuple[str, float, float, str]:
        return (self.sensor, self.value, self.surprise, self.detail)

    def __eq__(self, other: object) -> bool:  # as a dataclass's: the same class and the same fields
        if not isinstance(other, Explanation):
            return NotImplemented
        return self._fields() == other._fields()

    def __repr__(self) -> str:
        return "Explanation(sensor={!r}, value={!r}, surprise={!r}, detail={!r})".format(*self._fields())


# A reason not yet formatted: (surprise, sensor, value, detail as a str.format template, its arguments).
# Most readings have a few reasons with surprise >= 1 and only the top 3 are returned: formatting the
# others' details was wasted work on every reading.
_Reason = tuple[float, str, float, str, tuple[object, ...]]
_SURPRISE: Final = operator.itemgetter(0)


def _top_reasons(reasons: list[_Reason], count: int = 3) -> list[Explanation]:
    """The `count` most surprising reasons (in the order given when they tie), formatted."""
    if not reasons:
        return []
    reasons.sort(key=_SURPRISE, reverse=True)
    return [
        Explanation(sensor, value, surprise, detail.format(*args))
        for surprise, sensor, value, detail, args in reasons[:count]
    ]


class Assessment:
    __slots__ = ("anomaly", "drift", "reasons", "score", "supervised", "time_to_limit_s", "warming_up")

    def __init__(
        self,
        score: float,
        warming_up: bool,
        anomaly: float,  # the unsupervised score alone
        supervised: float | None,
        reasons: list[Explanation] | None = None,
        time_to_limit_s: float | None = None,
        drift: bool = False,
    ) -> None:
        self.score = score
        self.warming_up = warming_up
        self.anomaly = anomaly
        self.supervised = supervised
        self.reasons: list[Explanation] = reasons if reasons is not None else []
        self.time_to_limit_s = time_to_limit_s
        self.drift = drift

    def _fields(self) -> tuple[float, bool, float, float | None, list[Explanation], float | None, bool]:
        return (
            self.score,
            self.warming_up,
            self.anomaly,
            self.supervised,
            self.reasons,
            self.time_to_limit_s,
            self.drift,
        )

    def __eq__(self, other: object) -> bool:  # as a dataclass's: the same class and the same fields
        if not isinstance(other, Assessment):
            return NotImplemented
        return self._fields() == other._fields()

    def __repr__(self) -> str:
        return (
            "Assessment(score={!r}, warming_up={!r}, anomaly={!r}, supervised={!r}, reasons={!r}, "
            "time_to_limit_s={!r}, drift={!r})"
        ).format(*self._fields())


# ThermalFit's state, in the order its envelope stores it (a compiled class has no __slots__ to read it from).
THERMAL_FIELDS: Final = ("lx", "mx", "my", "n", "sxx", "sxy")


class ThermalFit:
    """Temperature expected for the recent load (EW least squares on the load smoothed like a heat sink
    smooths it): a failing fan or dried paste shows as heat the load does not explain, long before the
    absolute temperature is alarming. A chip's temperature follows its load with a lag (tens of seconds),
    so the smoothed load explains far more of it than the instantaneous one."""

    __slots__ = THERMAL_FIELDS

    def __init__(self) -> None:
        self.mx = self.my = self.sxx = self.sxy = self.lx = 0.0
        self.n = 0  # readings since the means were (re)started

    def state(self) -> tuple[float, float, float, int, float, float]:
        """THERMAL_FIELDS, in order (what the envelope stores)."""
        return (self.lx, self.mx, self.my, self.n, self.sxx, self.sxy)

    def relevel(self) -> None:
        """Restart the means (the operating point after a repair), keep the load→temperature slope."""
        self.n = 0

    def smooth(self, load: float, pace: float = 1.0) -> float:
        self.lx = load if self.n == 0 else self.lx + THERMAL_LAG_RATE * pace * (load - self.lx)
        return self.lx

    def slope(self) -> float:
        """Degrees per % load (0 until the load has varied)."""
        return self.sxy / self.sxx if self.sxx > 1e-6 else 0.0

    def expected(self) -> float:
        return self.my + self.slope() * (self.lx - self.mx)

    def learn(self, temperature: float, rate: float) -> None:
        self.n += 1
        mean_rate = max(rate, 1.0 / self.n)
        load = self.lx
        self.mx += mean_rate * (load - self.mx)
        self.my += mean_rate * (temperature - self.my)
        self.sxx += rate * (math.pow(load - self.mx, 2.0) - self.sxx)  # x ** 2, natively (the same libm pow)
        self.sxy += rate * ((load - self.mx) * (temperature - self.my) - self.sxy)


class DeviceModel:
    __slots__ = (
        "accept_from",
        "accept_left",
        "alpha",
        "baselines",
        "buffer",
        "cadence_ms",
        "checkpoints",
        "deg_slope",
        "degradation",
        "device_type",
        "drift",
        "habituation",
        "heat_anchor",
        "last_ts",
        "n",
        "names",
        "patterns",
        "plan",
        "predictors",
        "records",
        "residual",
        "seen",
        "supervised",
        "tail",
        "thermal",
        "warmup",
    )

    def __init__(
        self,
        device_type: str | None,
        sensors: tuple[str, ...] | None = None,
        *,
        warmup: int = COLD_WARMUP,
        restoring: bool = False,
    ) -> None:
        """`restoring`: the envelope is about to set the model's state (envelope.load): the sensors' baselines,
        which it replaces whole, are not built (the dict stays empty until it fills it)."""
        self.device_type = device_type
        sensors = sensors or tuple(SENSORS)
        self.names = features.feature_names(sensors, device_type)
        self.plan = _plan(sensors, device_type, self.names)
        self.baselines: dict[str, SensorBaseline] = (
            {} if restoring else {s: SensorBaseline(*baseline_config(s)) for s in sensors}
        )
        has_thermal = self.plan.thermal
        self.thermal = ThermalFit() if has_thermal else None
        self.residual = SensorBaseline(*baseline_config(RESIDUAL)) if has_thermal else None
        self.alpha = ALPHA
        self.warmup = warmup
        self.n = 0  # readings since the model started or was re-levelled (warm-up counts these)
        self.seen = 0  # readings ever learned from
        self.habituation = 0.0  # decaying max of recent calibrated surprise
        self.accept_left = 0  # readings left of fast level learning after an alert
        self.accept_from: list[float] = []  # each sensor's (level, scale) when that alert began
        self.patterns = array("d")  # recent alert patterns' (sensor, reading - level, seen, alerts), flat
        self.last_ts = 0
        self.cadence_ms = 0.0
        self.tail = EmpiricalTail()
        self.supervised = Supervised(self.names)
        self.buffer = LabelBuffer(len(self.names))
        self.drift = DriftWatch()
        self.checkpoints: list[tuple[int, array]] = []  # (ts, noise state), one per CHECKPOINT_MS
        self.predictors = Predictors(len(sensors))
        self.records = Records(len(self.plan.tracked))
        self.degradation = Degradation(len(self.plan.worn))
        self.heat_anchor = 0.0  # the load HEAT_AT_LOAD adjusts to: the thermal fit's mean load as its reference began
        self.deg_slope = 0.0  # EW d(degradation surprise)/dt per second, for the time to the alert level

    @property
    def schema_hash(self) -> str:
        return self.plan.schema_hash

    @property
    def warming_up(self) -> bool:
        return self.n < self.warmup

    # --- scoring ------------------------------------------------------------------------------------

    def update(self, ts_ms: int, values: dict[str, float | None], throttled: int | None = None) -> Assessment:
        plan = self.plan
        # The feature vector is only needed by a ready supervised half or a due label-buffer entry (neither
        # changes before _learn); otherwise the features go to a scratch row no one reads, which is cheaper
        # than copying every feature's 0.0.
        ready = self.supervised.ready()
        wanted = ready or self.buffer.due(ts_ms)
        row = plan.zero_row.copy() if wanted else _SCRATCH_ROW  # every feature, 0.0 until set
        explanations: list[_Reason] = []  # formatted only for the top 3 (_top_reasons)
        # The raw surprise of each independent test: only their largest and their count are used, kept as
        # max(tests, default=0.0) keeps them (the first, then any larger one), without a list of boxed floats.
        tests = 0
        largest = 0.0
        physical = 0.0
        abs_z: list[float] = []
        eta_minutes: list[float] = []
        prepared: list[SensorBaseline] = []  # for _learn: the baselines with a value, the reading in scored_*
        timed: list[int] = []  # for _learn, per prepared baseline: the side whose shifts' durations count (0: none)
        seasonal = 0 < self.cadence_ms <= BIN_MS  # a reading in every time-of-day bin
        predictors = self.predictors
        # Readings since the previous one, by the device's cadence: a jump after a gap spans that many steps.
        elapsed = (ts_ms - self.last_ts) / self.cadence_ms if self.last_ts and self.cadence_ms else 1.0
        steps = elapsed if elapsed > 1.0 else 1.0
        pace = self.pace()
        # The shortest shift a sustained shift's recent mean can show: its memory in event time (EVIDENCE_RATE).
        cadence = self.cadence_ms if self.cadence_ms > REFERENCE_CADENCE_MS else REFERENCE_CADENCE_MS
        shortest_spell = cadence / features.EVIDENCE_RATE
        watched_ms = self.seen * self.cadence_ms  # the event time the device has been watched, by its cadence
        # The most surprising sensor: its surprise, index, reading and level.
        top_surprise, top_i, top_value, top_level = -1.0, -1, 0.0, 0.0
        record = (0.0, "", 0.0, 0.0)  # the strongest record: (surprise, sensor, value, the record it beat)
        record_tests = 0
        plans, baselines = plan.sensors, list(self.baselines.values())
        if len(plans) != len(baselines):
            raise ValueError("the model's baselines do not fit its sensors")
        # Heat the load does not explain, as of the last reading: the thermal residual's sustained shift (LOAD_DRIVEN)
        thermal = self.residual
        unexplained_heat = thermal.recent_shift(pace) if thermal is not None and thermal.n > 0 else 0.0
        for i in range(len(plans)):
            sensor, keys, noisy, hot_only, limit, limit_key, momentary, record_at, side, follows, spell = plans[i]
            baseline = baselines[i]
            value = values.get(sensor)
            if value is None:
                continue
            predicted = predictors.surprise(i, value, ts_ms, baseline.floor, seasonal, side, steps)
            if momentary:
                if not tests or predicted > largest:
                    largest = predicted
                tests += 1
            else:
                predicted = 0.0  # the predictor learned from it; for a workload sensor it is no test
                if follows:
                    tests += 1  # counted, never surprising (LOAD_DRIVEN)
            if predicted >= 1.0:
                detail = "{}={:g} is not what its recent readings predict"
                explanations.append((predicted, sensor, value, detail, (sensor, value)))
            scale = baseline.floor  # the records' noise scale while the baseline is new
            if baseline.n > 0:  # else learning starts the baseline and needs neither scale nor stillness
                z_key, slope_key, still_key, shift_key = keys
                scale, stillness = baseline.scale(), baseline.stillness()
                baseline.scored_scale, baseline.scored_stillness = scale, stillness
                z = baseline.z(value, scale)
                # Only physical sensors are always noisy; a generic metric may plateau legitimately.
                # A sensor that moved at this reading is not stuck now, whatever its recent stillness (a repaired
                # sensor's first readings, a device back after a gap).
                still = stillness if noisy and value == baseline.last else 0.0
                if wanted:  # else the row is the scratch row no one reads: skip the writes
                    row[z_key] = z
                    row[slope_key] = baseline.slope / scale
                    row[still_key] = still
                abs_z.append(abs(z))
                surprise = 0.0
                if momentary:  # a workload sensor's single reading is no test (WORKLOAD_SENSORS)
                    surprise = gaussian_surprise(max(z, 0.0) if hot_only else z)
                    if not tests or surprise > largest:
                        largest = surprise
                    tests += 1
                elif follows:
                    tests += 1  # counted, never surprising (LOAD_DRIVEN)
                shift = baseline.evidence(z, pace)
                if wanted:
                    row[shift_key] = shift
                # A workload sensor's sustained shift counts toward failure only (FAILURE_SIDE).
                toward = 1 if hot_only else (0 if momentary else side)
                counted = shift if toward == 0 else (toward * shift if toward * shift > 0.0 else 0.0)
                # A sensor that follows the workload shifts whenever the device gets busy: its shift is news
                # only once it has outlasted every earlier shift toward failure (a duration record), and the
                # workload itself (load, power) only as far as that record is rare among its earlier spells, on
                # the records channel's scale: a desktop's busy spells are many, and one a little longer than
                # the longest yet is no overload. A PC's temperature counts only as far as the heat its load does not
                # explain has shifted too: a chip warmer because the device is busier is the load's story.
                if follows:
                    if hot_only and counted > unexplained_heat:
                        counted = unexplained_heat if unexplained_heat > 0.0 else 0.0
                    if not baseline.outlasts():
                        counted = 0.0
                sustained = min(EVIDENCE_MAX, gaussian_surprise(counted))
                if not momentary and not follows:
                    rarity = baseline.spell_rarity(shortest_spell, watched_ms) * RECORD_SCALE
                    sustained = sustained if sustained < rarity else rarity
                if not tests or sustained > largest:
                    largest = sustained
                tests += 1
                if sustained >= 1.0 and sustained > surprise:
                    detail = "{} has stayed {:+.1f} scales off its usual {:.4g}"
                    explanations.append((sustained, sensor, value, detail, (sensor, baseline.ewz, baseline.loc)))
                if surprise >= 1.0:
                    detail = "{}={:g} is {:+.1f} scales from its usual {:.4g}"
                    explanations.append((surprise, sensor, value, detail, (sensor, value, z, baseline.loc)))
                # max(predicted, surprise, sustained) as the two-argument comparisons it makes (compiled, a
                # three-argument max is a builtin call)
                strongest = max(max(predicted, surprise), sustained)
                if strongest > top_surprise:
                    top_surprise, top_i, top_value, top_level = strongest, i, value, baseline.loc
                if still > STILL_START:
                    stuck = (still - STILL_START) * STILL_WEIGHT
                    if not tests or stuck > largest:
                        largest = stuck
                    tests += 1
                    detail = "{} has stopped changing ({:.0f}x less movement than usual)"
                    explanations.append((stuck, sensor, value, detail, (sensor, 2**still)))
            timed.append(spell)
            if record_at is not None:
                slot, side = record_at
                rare, beaten = self.records.surprise(slot, value, side, baseline.floor, scale, self.cadence_ms)
                self.records.learn(slot, value)
                record_tests += 1
                if rare > record[0]:
                    record = (rare, sensor, value, beaten)
            if limit is not None:
                level = value
                if not (momentary or follows):  # a workload (WORKLOAD_SENSORS): see features.HELD_MS
                    held = baseline.hold(value, ts_ms, self._gap_cap())
                    level = value if held > limit[0] else held
                fraction = features.limit_fraction(level, limit)
                if wanted:
                    row[limit_key] = fraction
                if fraction > 0:
                    physical += LIMIT_WEIGHT * fraction
                    detail = "{}={:g} is {:.0%} of the way from warning to critical"
                    explanations.append((LIMIT_WEIGHT * fraction, sensor, value, detail, (sensor, value, fraction)))
                eta = features.minutes_to_limit(baseline, value, limit, scale if baseline.n > 0 else None)
                if eta is not None:
                    eta_minutes.append(eta)
            baseline.scored_value = value
            prepared.append(baseline)
        residual = self._thermal_residual(values, pace)
        if residual is not None and self.residual is not None and self.residual.n > 0:
            z = self.residual.z(residual)
            if wanted:
                row[RESIDUAL_Z] = z
            # Only heat the load does not explain is a cooling fault; a cooler chip is not a precursor.
            sustained = min(EVIDENCE_MAX, gaussian_surprise(max(self.residual.evidence(z, pace), 0.0)))
            surprise = max(gaussian_surprise(max(z, 0.0)), sustained)
            if not tests or surprise > largest:
                largest = surprise
            tests += 1
            if surprise >= 1.0:
                detail = "temperature is {:+.1f} °C off what this load usually gives ({:+.1f} scales)"
                temperature = values["temperature_c"] or 0.0
                explanations.append((surprise, "temperature_c", temperature, detail, (residual, z)))
        if throttled:
            for bit, surprise in FLAG_SURPRISE.items():
                if throttled & bit:
                    physical += surprise
                    name = "under_voltage" if bit == 0x1 else "throttled"
                    if wanted:
                        row[name] = 1.0
                    explanations.append((surprise, "throttled", float(throttled), "{} flag is set", (name,)))
        if wanted and self.last_ts and self.cadence_ms:
            row["gap"] = features.gap_feature(ts_ms - self.last_ts, self.cadence_ms)

        raw = (largest if tests else 0.0) - _log10(tests)  # Bonferroni over the tests
        warming = self.warming_up
        calibrated = 0.0 if warming else self.tail.calibrate(raw)
        # Alert on change: alert-level surprise the device has already shown (within ~a half-life) is
        # discounted, so a persisting deviation makes one alert at its onset, not one per reading, while
        # a slow rise still alerts once it gets there, and getting clearly worse alerts again. Physical
        # evidence is never discounted.
        fresh = calibrated - max(0.0, self.habituation - HABIT_FREE)
        # Per reading's worth of time (HABIT_DECAY ** steps as math.pow, *= written out: compiled, both were generic).
        paced = steps * pace
        self.habituation = self.habituation * (HABIT_DECAY if paced == 1.0 else math.pow(HABIT_DECAY, paced))
        seen_before = self._repeat(top_i, top_value, top_level, pace) if fresh >= HABIT_FROM and top_i >= 0 else 0
        if seen_before >= PATTERN_EXPECTED:
            fresh = min(fresh, HABIT_FREE)  # an expected repeat: below the alert level, not an alert
        elif fresh >= HABIT_FROM:
            self.habituation = max(self.habituation, calibrated)
            if not self.accept_left:  # where the levels were when this alert began
                self.accept_from = [x for b in self.baselines.values() for x in (b.loc, b.scale())]
            self.accept_left = round(ACCEPT_READINGS / pace)  # alerted once: now learn the new level fast
            if top_i >= 0 and not seen_before:
                kept = self.patterns[4 - 4 * PATTERN_SLOTS :]
                self.patterns = kept + array("d", (top_i, top_value - top_level, self.seen, 1))
        worn = self._degradation(ts_ms, values, residual is not None, explanations, eta_minutes, warming)
        recorded = self._record(record, record_tests, explanations, warming)
        if self.accept_left and fresh < HABIT_FROM:
            # One incident, one alert: while the device settles after an anomaly alert, the wear and records
            # channels' evidence of the same excursion is a reason, not a second alert (their ratchets have
            # counted it, so it does not alert later either).
            worn = worn if worn < HABIT_FREE else HABIT_FREE
            recorded = recorded if recorded < HABIT_FREE else HABIT_FREE
        surprise_total = max(max(max(0.0, fresh), worn), recorded) + physical  # max(0.0, fresh, worn, recorded)
        anomaly = to_score(surprise_total)
        if wanted:
            row["surprise"] = surprise_total / 10
        vector = [row[name] for name in self.names] if wanted else []
        probability = self.supervised.probability(vector) if ready else None
        final = anomaly
        if probability is not None and not warming:
            # Trust grows with distinct labelled episodes, not with vectors: one failure teaches ~20
            # vectors, all from one story, and must not let the regression drive the score on its own.
            share = SUPERVISED_SHARE * min(1.0, self.supervised.episodes / TRUSTED_EPISODES)
            final = (1 - share) * anomaly + share * probability

        alerted = fresh >= HABIT_FROM
        drifted = self._learn(ts_ms, values, prepared, timed, raw, alerted, abs_z, residual, vector, warming, pace)
        eta = _smallest(eta_minutes) * 60 if eta_minutes else None
        return Assessment(final, warming, anomaly, probability, _top_reasons(explanations), eta, drifted)

    def _repeat(self, sensor: int, value: float, level: float, pace: float) -> int:
        """How often this alert's pattern has alerted recently (0: new), renewing and counting it."""
        patterns, span = self.patterns, PATTERN_SPAN / pace
        for at in range(0, len(patterns), 4):
            i, before, seen, count = patterns[at : at + 4]
            if (
                i == sensor
                and self.seen - seen <= span
                and (value - level) * before > 0
                and abs((value - level) - before) <= PATTERN_TOL * abs(before)
            ):
                patterns[at + 2], patterns[at + 3] = self.seen, count + 1
                return int(count)
        return 0

    def _degradation(
        self,
        ts_ms: int,
        values: dict[str, float | None],
        fitted: bool,
        explanations: list[_Reason],
        eta_minutes: list[float],
        warming: bool,
    ) -> float:
        """The degradation channel's fresh surprise (what it has not alerted on yet); adds its reason and,
        while its surprise is rising toward the alert level, the time until it gets there. `fitted`: this
        reading has a thermal residual (a temperature, a load and a fit past its first readings)."""
        plan = self.plan
        if not plan.worn:
            return 0.0
        degradation = self.degradation
        before = degradation.level
        worn = [values.get(s) for s in plan.tracked]
        held = -1
        if plan.thermal:
            held = len(worn)
            worn.append(self._heat_at_load(values["temperature_c"]) if fitted else None)
        surprise, worst, counted = degradation.update(worn, plan.worn_floors, held)
        if counted == 0 or warming:
            return 0.0
        dt_s = (ts_ms - self.last_ts) / 1000 if self.last_ts and ts_ms > self.last_ts else 0.0
        if dt_s > 0:
            self.deg_slope += TREND_RATE * ((surprise - before) / dt_s - self.deg_slope)
        if surprise >= 1.0:
            heat = worst == len(plan.tracked)
            sensor = "temperature_c" if heat else plan.worn[worst]
            detail = (
                "{} at its early-life load has risen {:+.1f} healthy spreads from {:.4g} ({} sensors tracked)"
                if heat
                else "{} has drifted {:+.1f} healthy spreads from its early-life {:.4g} ({} sensors tracked)"
            )
            args = (sensor, degradation.ewz[worst], degradation.mean[worst], counted)
            explanations.append((surprise, sensor, values.get(sensor) or 0.0, detail, args))
        if surprise < HABIT_FROM and self.deg_slope > 0:
            eta_minutes.append((HABIT_FROM - surprise) / self.deg_slope / 60)
        return degradation.fresh(surprise, HABIT_FROM)

    def _record(
        self, record: tuple[float, str, float, float], tests: int, explanations: list[_Reason], warming: bool
    ) -> float:
        """The records channel's fresh surprise on the anomaly channel's scale (its alert level mapped onto
        theirs); adds the record's reason."""
        rare, sensor, value, beaten = record
        rare -= _log10(tests)  # Bonferroni over the sensors whose records count
        fresh = self.records.fresh(rare if not warming else 0.0, RECORD_ALERT)
        if rare <= 0.0 or warming:
            return 0.0
        surprise = rare * RECORD_SCALE
        if surprise >= 1.0 and beaten != beaten:  # NaN: a duration record
            detail = "{}={:g} has stayed beyond its usual extremes longer than ever before"
            explanations.append((surprise, sensor, value, detail, (sensor, value)))
        elif surprise >= 1.0:
            detail = "{}={:g} is beyond anything this device has shown (its record was {:.4g})"
            explanations.append((surprise, sensor, value, detail, (sensor, value, beaten)))
        return fresh * RECORD_SCALE

    def _heat_at_load(self, temperature: float | None) -> float | None:
        """The temperature this device would have at the load of its early life (HEAT_AT_LOAD), by the thermal
        fit's current slope: what dried paste or a failing fan raises and a busier day does not. The fit's own
        level learns a slow rise as normal; this value's reference is frozen with the others. Hotter counts,
        cooler does not (a cooler chip is not a precursor). Sampled once per HEAT_SPACING_MS, so that its
        samples are as independent as the degradation channel's null assumes; None between samples. Called
        only for a reading with a thermal residual (so with a temperature, a load and a fit)."""
        thermal = self.thermal
        if thermal is None or temperature is None:
            return None
        spacing = round(HEAT_SPACING_MS / self.cadence_ms) if self.cadence_ms > 0 else 1
        if spacing > 1 and self.seen % spacing:
            return None
        slot, degradation = len(self.plan.tracked), self.degradation
        if degradation.count[slot] == 0:
            self.heat_anchor = thermal.mx
        heat = temperature - thermal.slope() * (thermal.lx - self.heat_anchor)
        if degradation.count[slot] < REF_READINGS:
            return heat
        reference = degradation.mean[slot]
        return heat if heat > reference else reference

    def _gap_cap(self) -> float:
        """The most event time one step between readings stands for: three readings' worth, as the cadence's
        own estimate caps a gap (a device asleep says nothing of what happened meanwhile)."""
        return 3.0 * self.cadence_ms if self.cadence_ms else math.inf

    def pace(self) -> float:
        """The share of a 5 s step one reading stands for: below 1 only for a device reporting faster."""
        cadence = self.cadence_ms
        return cadence / REFERENCE_CADENCE_MS if 0.0 < cadence < REFERENCE_CADENCE_MS else 1.0

    def _thermal_residual(self, values: dict[str, float | None], pace: float) -> float | None:
        load, temperature = values.get("load_pct"), values.get("temperature_c")
        if self.thermal is None or load is None or temperature is None:
            return None
        young = self.thermal.n < 10
        self.thermal.smooth(load, pace)
        return None if young else temperature - self.thermal.expected()

    # --- learning -----------------------------------------------------------------------------------

    def _learn(
        self,
        ts_ms: int,
        values: dict[str, float | None],
        prepared: list[SensorBaseline],
        timed: list[int],
        raw: float,
        alerted: bool,
        abs_z: list[float],
        residual: float | None,
        vector: list[float],
        warming: bool,
        pace: float,
    ) -> bool:
        alpha = self.alpha * pace * (ACCEPT_FACTOR if self.accept_left else 1.0)
        boost = self.drift.alpha_factor()
        moved = False
        if self.accept_left == 1 and self.accept_from:  # the fast learning ends: did the level move?
            start = self.accept_from
            moved = any(
                abs(b.loc - start[2 * i]) > DRIFT_SCALES * start[2 * i + 1]
                for i, b in enumerate(self.baselines.values())
            )
            self.accept_from = []
        self.accept_left = max(0, self.accept_left - 1)
        gap_cap = self._gap_cap()
        for j, baseline in enumerate(prepared):  # the sensors with a value, as scored
            # A drift boosts re-baselining, except of a sensor in a young sustained shift (a failure
            # ramp in progress must not be learned as the new normal; drift.py).
            boosted = boost > 1.0 and not baseline.holding(ts_ms)
            rate = self.alpha * pace * max(boost, ACCEPT_FACTOR if self.accept_left else 1.0) if boosted else alpha
            # The scale and stillness it was scored with (unchanged since): a new baseline (n == 0) uses neither.
            known = baseline.n > 0
            scale, stillness = baseline.scored_scale, baseline.scored_stillness
            baseline.learn(baseline.scored_value, ts_ms, rate, known, scale, known, stillness, timed[j], gap_cap)
        # A stuck thermometer says nothing about how load heats the device: learning from it would
        # collapse the residual's scale, and the repaired sensor would then alert on every reading.
        # A sustained residual shift (a cooling fault in progress) must not be learned as the device's
        # load→temperature relation either; the residual's own level still follows it, slowly.
        stuck = self.baselines["temperature_c"].stillness() > STILL_FREEZE if self.thermal is not None else True
        if not stuck and self.thermal is not None and self.residual is not None:
            load, temperature = values.get("load_pct"), values.get("temperature_c")
            if load is not None and temperature is not None and not self.residual.holding(ts_ms):
                self.thermal.learn(temperature, max(alpha, 1.0 / (self.seen + 1)))
            if residual is not None:
                self.residual.update(residual, ts_ms, alpha)
        if self.last_ts and ts_ms > self.last_ts:
            dt = float(ts_ms - self.last_ts)  # a float from the first gap: compiled code stores one (typed float)
            self.cadence_ms = (
                dt if not self.cadence_ms else self.cadence_ms + 0.05 * (min(dt, 3 * self.cadence_ms) - self.cadence_ms)
            )
        self.last_ts = max(self.last_ts, ts_ms)
        self.n += 1
        self.seen += 1
        drifted = False
        if not warming:
            # What the device does when it is not alerting is its normal surprise. An alerting reading taught
            # to the tail made every later event of that size look ordinary for the rest of the device's life
            # (the calibration is an empirical tail: once something is seen, it is never rarer than 1 in N).
            # A repeat that habituated or was expected is learned: it is normal by then.
            if not alerted:
                self.tail.learn(raw)
            if abs_z and self.drift.update(sum(abs_z) / len(abs_z), moved, pace):
                drifted = True
                self.tail = EmpiricalTail()  # "normal surprise" changed with the regime
                telemetry.drift_events.labels(self.device_type or "unknown").inc()
        if not warming and (not self.checkpoints or ts_ms - self.checkpoints[-1][0] >= CHECKPOINT_MS):
            self.checkpoints = [*self.checkpoints[1 - CHECKPOINTS :], (ts_ms, array("d", self._noise_state()))]
        if self.buffer.due(ts_ms):
            evicted = self.buffer.push(ts_ms, vector)
            if evicted is not None and not evicted[2] and ts_ms - evicted[0] >= HORIZON_MS:
                self.supervised.learn(evicted[1], failed=False)  # no failure within H of it
        return drifted

    def learn_failure(self, failure_ts: int, onset_ts: int | None = None) -> int:
        """Ground truth: the device failed at failure_ts. Teaches from the buffered features of the H
        before it (from the onset, when known, so pre-onset normality is not called a precursor)."""
        start = max(failure_ts - HORIZON_MS, onset_ts if onset_ts is not None else 0)
        taught = 0
        for i in self.buffer.between(start, failure_ts):
            if not self.buffer.labelled[i]:
                self.supervised.learn(self.buffer.vectors[i], failed=True, weight=POSITIVE_WEIGHT)
                self.buffer.labelled[i] = True
                taught += 1
        if taught:
            self.supervised.episodes += 1
        # What the model learned since the failure began was the failure: the noise scales and thermal
        # slope go back to the newest checkpoint before it (when there is one), later ones are dropped.
        began = onset_ts if onset_ts is not None else failure_ts - HORIZON_MS
        before = [c for c in self.checkpoints if c[0] < began]
        if before and len(before) < len(self.checkpoints):
            self._restore_noise(list(before[-1][1]))
            self.checkpoints = before
        if failure_ts >= self.last_ts and self.n >= self.warmup:
            self.relevel()  # the failure is the newest thing we know: what comes next is the repaired device
        return taught

    def _sensors(self) -> list[SensorBaseline]:
        return [*self.baselines.values(), *([self.residual] if self.residual is not None else [])]

    def _noise_state(self) -> list[float]:
        out = [x for b in self._sensors() for x in (b.mad, b.step_slow, b.ewz_sq)]
        if self.thermal is not None:
            out += [self.thermal.sxx, self.thermal.sxy]
        return out

    def _restore_noise(self, state: list[float]) -> None:
        sensors = self._sensors()
        for i, b in enumerate(sensors):
            b.mad, b.step_slow, b.ewz_sq = state[3 * i : 3 * i + 3]
        if self.thermal is not None:
            self.thermal.sxx, self.thermal.sxy = state[3 * len(sensors) : 3 * len(sensors) + 2]

    def relevel(self) -> None:
        """The device failed (and will be repaired or replaced): forget its level, keep its noise scales,
        calibration and supervised model, and gate alerts for a short warm-up while the level is re-learned.
        Without this, the repaired device's normal readings look like a jump away from the failing level."""
        for baseline in self.baselines.values():
            baseline.relevel(RELEVEL_PSEUDO_N)
        if self.residual is not None:
            self.residual.relevel(RELEVEL_PSEUDO_N)
        if self.thermal is not None:
            self.thermal.relevel()
        self.degradation.reset()
        self.records.reset()
        self.predictors.relevel()
        self.patterns = array("d")  # the repaired device's first alert of any pattern is news
        self.deg_slope = 0.0
        self.n, self.warmup = 0, PRIOR_WARMUP
        self.drift = DriftWatch()
        telemetry.relevels.labels(self.device_type or "unknown").inc()

    def learn_feedback(self, alert_ts: int, right: bool) -> bool:
        """A person judged the alert at alert_ts; False when no buffered features are near it."""
        i = self.buffer.nearest(alert_ts)
        if i is None or abs(self.buffer.ts[i] - alert_ts) > 2 * self.buffer.stride_ms:
            return False
        self.supervised.learn(self.buffer.vectors[i], failed=right, weight=FEEDBACK_WEIGHT)
        self.supervised.episodes += 1
        self.buffer.labelled[i] = True
        return True


class _SensorPlan(NamedTuple):
    """What scoring needs to know about one sensor of a model, beyond its baseline."""

    sensor: str
    keys: tuple[str, str, str, str]  # its z, slope, stillness and shift feature names
    physical: bool  # a physical sensor (always noisy, so stillness is telling)
    hot_only: bool
    limit: tuple[float, float] | None  # (warning, critical) for the device type
    limit_key: str
    momentary: bool  # a single reading's distance or missed prediction counts (not a workload sensor)
    record_at: tuple[int, int] | None  # its slot in Records and which records count (+1 high, -1 low, 0 both)
    side: int  # FAILURE_SIDE, 0 when the product does not know the sensor
    follows_load: bool  # LOAD_DRIVEN with a load sensor: its momentary tests are counted, never surprising
    spell_side: int  # the side whose sustained shifts' durations are recorded (toward failure), 0 when momentary


class _Plan(NamedTuple):
    sensors: tuple[_SensorPlan, ...]  # in the baselines' order
    zero_row: dict[str, float]  # every feature name -> 0.0, in order; copied per reading, never changed
    tracked: tuple[str, ...]  # the sensors whose degradation from early life and records are tracked, in order
    worn: tuple[str, ...]  # the degradation channel's slots: the tracked sensors, then HEAT_AT_LOAD when thermal
    worn_floors: list[float]  # their smallest scales
    names: tuple[str, ...]  # the sensors, in the baselines' order
    thermal: bool  # the features have the thermal residual (a temperature and a load)
    schema_hash: str  # features.schema_hash of the feature names (dumped with every envelope)


_PLANS: dict[tuple[tuple[str, ...], str | None], _Plan] = {}
_SCRATCH_ROW: dict[str, float] = {}  # written by readings whose features no one needs, never read


def _plan(sensors: tuple[str, ...], device_type: str | None, names: tuple[str, ...]) -> _Plan:
    """What scoring looks up per sensor, and the empty feature row: built once per process and (sensors,
    device type), shared by every model of that kind, not rebuilt per reading."""
    plan = _PLANS.get((sensors, device_type))
    if plan is None:
        limits = LIMITS.get(device_type or "", {})
        # The sensors whose level belongs to the device (WEAR_SENSORS) and those the product does not know:
        # their degradation from early life and their records are tracked (records on their failure side).
        tracked = tuple(s for s in sensors if s in WEAR_SENSORS or s not in SENSORS)
        per_sensor = tuple(_sensor_plan(s, sensors, limits, tracked) for s in sensors)
        thermal, schema = RESIDUAL_Z in names, features.schema_hash(names)
        worn = (*tracked, HEAT_AT_LOAD) if thermal else tracked
        floors = [SCALE_FLOOR.get(s, 0.0) for s in tracked] + ([HEAT_FLOOR_C] if thermal else [])
        plan = _PLANS[(sensors, device_type)] = _Plan(
            per_sensor, dict.fromkeys(names, 0.0), tracked, worn, floors, sensors, thermal, schema
        )
    return plan


def _sensor_plan(
    s: str, sensors: tuple[str, ...], limits: dict[str, tuple[float, float]], tracked: tuple[str, ...]
) -> _SensorPlan:
    momentary = s not in WORKLOAD_SENSORS and not (s in LOAD_DRIVEN and "load_pct" in sensors)
    side = FAILURE_SIDE.get(s, 0)
    return _SensorPlan(
        s,
        (f"z:{s}", f"slope:{s}", f"still:{s}", f"shift:{s}"),
        s in SENSORS,
        s in HOT_ONLY,
        limits.get(s),
        f"limit:{s}",
        momentary,
        (tracked.index(s), side) if s in tracked else None,
        side,
        s in LOAD_DRIVEN and "load_pct" in sensors,
        0 if momentary else (1 if s in HOT_ONLY else side),  # toward, as scoring counts a sustained shift
    )


def _largest(values: list[float]) -> float:
    """max(values, default=0.0), as the comparisons it makes (compiled, max of a list is a builtin call)."""
    if not values:
        return 0.0
    largest = values[0]
    for i in range(1, len(values)):
        value = values[i]
        if value > largest:
            largest = value
    return largest


def _smallest(values: list[float]) -> float:
    """min(values) of a list that is not empty, as the comparisons it makes."""
    smallest = values[0]
    for i in range(1, len(values)):
        value = values[i]
        if value < smallest:
            smallest = value
    return smallest


def _log10(count: int) -> float:
    return 0.0 if count <= 1 else _math_log10(count)
