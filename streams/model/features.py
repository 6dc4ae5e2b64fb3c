"""Per-device features from raw sensor values: each sensor against the device's own robust baseline.

Every model is built with a fixed, ordered list of feature names (`feature_names`), and every reading
yields a value for each of them (0.0 when a sensor is missing). River models that freeze their feature
set at the first `learn_one` therefore see every feature from the first reading on.
"""

from __future__ import annotations

import functools
import hashlib
import math
from typing import Final

from schemas.units import LIMITS

FEATURE_SCHEMA_VERSION: Final = 3  # 3: thermal residual against the smoothed load
HUBER_K: Final = 3.0  # deviations beyond K scales move the baseline only as far as K scales would
GAUSS_SCALE: Final = 1.2533  # mean absolute deviation x this = sigma for Gaussian noise
# Smallest scale per sensor (its reporting resolution), so a flat-lined sensor does not make every
# later wiggle infinitely surprising.
SCALE_FLOOR: Final = {
    "temperature_c": 0.05,
    "power_w": 0.01,
    "load_pct": 0.1,
    "voltage_v": 0.002,
    "fan_cfm": 0.01,
    "clock_ghz": 0.001,
}
# Outliers widen a health residual's scale at a tenth of the rate (and only up to the clip): a slow cooling
# fault must keep looking surprising there instead of inflating the noise estimate until it looks normal.
# A raw sensor's outliers widen its scale as usual: its slow wear is the degradation channel's (a frozen
# reference), and a scale that refuses its outliers makes a series with regular bursts alert on every one.
RESIDUAL_OUTLIER_SHARE: Final = 0.1
RESIDUAL: Final = "thermal_residual"  # the baseline of how far the temperature is from what the load explains
RESIDUAL_Z: Final = f"z:{RESIDUAL}"  # its feature: present when a model has a temperature and a load
STILL_FREEZE: Final = 2.0  # stillness (log2) above which the noise scale is not learned
EVIDENCE_RATE: Final = 0.1  # ~20 readings of memory (under 2 min at 5 s)
EVIDENCE_SD: Final = math.sqrt(EVIDENCE_RATE / (2 - EVIDENCE_RATE))  # sd of the EW mean of iid N(0,1)
EVIDENCE_CLIP: Final = 8.0  # one wild reading moves the recent mean by at most 0.8 scales
EVIDENCE_PRIOR_SQ: Final = 1.0  # until learned, assume the recent mean wanders like one scale (conservative)
SHIFT_FREEZE: Final = 3.0  # a recent mean this many healthy spreads off = a sustained shift: it teaches no noise...
SHIFT_HOLD_MS: Final = 60 * 60_000  # ...for at most an hour of event time; a shift that old is the new normal
# A workload's limit (a load at 90-100 %) counts only once the load held over ~5 minutes of event time (the stats'
# window) is past its warning: a burst to 100 % is somebody using the device, a load pinned there is overload.
# Then each reading counts as it is (the held level of a noisy load clipped at 100 % sits below its peaks).
HELD_MS: Final = 5 * 60_000
SPREAD_RATE: Final = 2e-4  # the healthy spread of that mean is learned slowly (~1.4 h): a slow ramp must not teach it
_EVIDENCE_VAR: Final = EVIDENCE_SD**2  # constants of the hot path, computed once
_SHIFT_FREEZE_SQ: Final = SHIFT_FREEZE**2
YOUNG_K: Final = 100.0  # small-sample doubt: scales learned from n readings count sqrt(1 + K/n) wider
THROTTLE_BITS: Final = {"under_voltage": 0x1, "throttled": 0x4}  # Raspberry Pi get_throttled, "now" bits
_log10: Final = math.log10
_LN10: Final = math.log(10.0)
_HOUR_MS: Final = 3_600_000.0
_log2: Final = math.log2  # bound once: compiled, math.log2 is otherwise looked up in the module per call


def _shift_spread(ewz_sq: float, pace: float) -> float:
    """The healthy spread of a sustained shift's recent mean: its learned spread, never below the iid spread of an
    EW mean at `EVIDENCE_RATE * pace` (a module function, not a method: compiled, a native call per sensor)."""
    recent = EVIDENCE_RATE * pace
    floor = _EVIDENCE_VAR if pace == 1.0 else recent / (2 - recent)
    return math.sqrt(floor if ewz_sq < floor else ewz_sq)


# SensorBaseline's learned state, in the order its envelope stores it (and its constructor takes it, after the
# sensor's fixed floor and outlier share, which the model's plan gives and the envelope does not store).
BASELINE_FIELDS: Final = (
    "n",
    "loc",
    "mad",
    "last",
    "last_ts",
    "slope",
    "step_fast",
    "step_slow",
    "prior_n",
    "ewz",
    "ewz_sq",
    "shift_ts",
    "longest_shift_ms",
    "shift_span_ms",
    "held",
    "shifts_n",
    "shifts_ms",
)


def baseline_config(sensor: str) -> tuple[float, float]:
    """A baseline's fixed floor and outlier share, by sensor (RESIDUAL: the thermal residual's): given by the
    sensor, never learned, so the envelope does not store them."""
    if sensor == RESIDUAL:
        return SCALE_FLOOR["temperature_c"], RESIDUAL_OUTLIER_SHARE
    return SCALE_FLOOR.get(sensor, 0.0), 1.0


class SensorBaseline:
    """EW location and scale with Huber-clipped updates: a spike barely moves it, a level shift is
    absorbed within a few 1/alpha readings (the clipped step still grows the scale), so it never
    stops learning the way filters that refuse anomalous points do.

    A plain class, not a dataclass: compiled, its constructor is native (a dataclass's generated
    __init__ runs as interpreted Python, and the envelope builds one of these per sensor per load)."""

    # The fixed configuration, BASELINE_FIELDS (the state), and what scoring hands to learning for the same
    # reading (never stored).
    __slots__ = ("floor", "outlier_share", *BASELINE_FIELDS, "scored_scale", "scored_stillness", "scored_value")

    def __init__(
        self,
        floor: float = 1e-9,  # the smallest scale: the sensor's resolution
        outlier_share: float = 1.0,  # the share of the learning rate at which outliers widen the scale
        n: int = 0,
        loc: float = 0.0,
        mad: float = 0.0,  # EW mean absolute deviation
        last: float = 0.0,
        last_ts: int = 0,
        slope: float = 0.0,  # EW change per minute, sensor units
        step_fast: float = 0.0,  # EW |change| over ~5 readings, against step_slow: a stuck sensor stops changing
        step_slow: float = 0.0,
        prior_n: int = 0,  # pseudo-readings behind a scale that came from the fleet prior
        ewz: float = 0.0,  # EW mean of the recent z (rate EVIDENCE_RATE): a sustained small shift adds up
        ewz_sq: float = EVIDENCE_PRIOR_SQ,  # its learned mean square when healthy (slow, Huber-clipped)
        shift_ts: int = 0,  # event time the current sustained shift began (0: none)
        longest_shift_ms: int = 0,  # the longest ended shift toward failure (watched time): a busy spell's record
        shift_span_ms: int = 0,  # how long the current shift has been watched (a gap counts a few readings)
        held: float = 0.0,  # the value held over the last minutes (a workload's limit counts on it)
        shifts_n: int = 0,  # ended shifts toward failure
        shifts_ms: int = 0,  # their watched time, in all
    ) -> None:
        self.floor = floor
        self.outlier_share = outlier_share
        self.n = n
        self.loc = loc
        self.mad = mad
        self.last = last
        self.last_ts = last_ts
        self.slope = slope
        self.step_fast = step_fast
        self.step_slow = step_slow
        self.prior_n = prior_n
        self.ewz = ewz
        self.ewz_sq = ewz_sq
        self.shift_ts = shift_ts
        self.longest_shift_ms = longest_shift_ms
        self.shift_span_ms = shift_span_ms
        self.held = held
        self.shifts_n = shifts_n
        self.shifts_ms = shifts_ms
        # The reading DeviceModel.update scored and the scale and stillness it scored it with (when n > 0), for
        # its learning step: set and read within one update, so a plain double each (no tuple per sensor).
        self.scored_value = 0.0
        self.scored_scale = 0.0
        self.scored_stillness = 0.0

    def state(
        self,
    ) -> tuple[int, float, float, float, int, float, float, float, int, float, float, int, int, int, float, int, int]:
        """The BASELINE_FIELDS, in order (what the envelope stores): one native call, not 17 attribute lookups."""
        return (
            self.n,
            self.loc,
            self.mad,
            self.last,
            self.last_ts,
            self.slope,
            self.step_fast,
            self.step_slow,
            self.prior_n,
            self.ewz,
            self.ewz_sq,
            self.shift_ts,
            self.longest_shift_ms,
            self.shift_span_ms,
            self.held,
            self.shifts_n,
            self.shifts_ms,
        )

    def evidence(self, z: float, pace: float = 1.0) -> float:
        """Fold z into the recent mean and return it in units of its own healthy spread, so it is ~N(0,1)
        when healthy whatever the sensor's autocorrelation (a slowly relaxing temperature wanders far
        more than iid noise would): a held shift adds up to a large value, one noisy reading never does.
        `pace`: the share of a 5 s step this reading stands for (DeviceModel.pace), so the spread is learned
        per unit of time: at 1 s a slow ramp would otherwise teach it five times sooner."""
        # Runs for every sensor of every reading: two-argument min/max are written as the comparison they
        # make (max(a, b) is `b if b > a else a`, the same result for NaN and signed zeros too).
        capped = z if z < EVIDENCE_CLIP else EVIDENCE_CLIP
        clipped = capped if capped > -EVIDENCE_CLIP else -EVIDENCE_CLIP
        recent = EVIDENCE_RATE * pace  # the recent mean spans as much time as at 5 s (more readings, less news each)
        ewz = self.ewz = self.ewz + recent * (clipped - self.ewz)
        ewz_sq = self.ewz_sq
        spread = _shift_spread(ewz_sq, pace)
        seen = self.n + self.prior_n
        shift_ts = self.shift_ts  # not self.holding(self.last_ts), inlined (the hot path)
        if seen >= 10 and not (shift_ts > 0 and self.last_ts - shift_ts < SHIFT_HOLD_MS):
            young = 1.0 / (seen + 1)
            slow = SPREAD_RATE * pace
            rate = young if young > slow else slow
            # math.pow(x, 2.0) is x**2 (the same libm pow and special cases; compiled, ** on floats is generic)
            square, ceiling = math.pow(ewz, 2.0), _SHIFT_FREEZE_SQ * ewz_sq
            self.ewz_sq = ewz_sq + rate * ((ceiling if ceiling < square else square) - ewz_sq)
        return ewz / spread

    def recent_shift(self, pace: float = 1.0) -> float:
        """The recent mean of z in units of its healthy spread, as `evidence` gives it, without a new reading."""
        return self.ewz / _shift_spread(self.ewz_sq, pace)

    def relevel(self, pseudo_n: int) -> None:
        """Forget the level (and trend), keep the noise scale as a prior of `pseudo_n` readings: after a
        repair the device's own normal is back, and what the failure did to the level must not linger."""
        self.prior_n = min(pseudo_n, self.n + self.prior_n)
        self.n = 0
        self.slope = self.ewz = 0.0
        self.shift_ts = self.shift_span_ms = 0
        self.step_fast = self.step_slow

    def scale(self) -> float:
        # The relative floor keeps sensors without a known resolution (NAB's `value`) finite.
        # max(GAUSS_SCALE * mad, floor, 1e-4 * |loc|, 1e-9), as the comparisons max makes (the hot path).
        scale = GAUSS_SCALE * self.mad
        if self.floor > scale:
            scale = self.floor
        relative = 1e-4 * abs(self.loc)
        if relative > scale:
            scale = relative
        return 1e-9 if scale < 1e-9 else scale

    def z(self, value: float, scale: float | None = None) -> float:
        """`scale`: this baseline's `scale()`, when the caller has it already (the hot path)."""
        if self.n == 0:
            return 0.0
        # Unclipped: the surprise must not tie at the top. A young scale (few readings, and autocorrelated
        # ones at that) is an underestimate more often than not: widen it by a small-sample factor.
        doubt = math.sqrt(1.0 + YOUNG_K / (self.n + self.prior_n))
        return (value - self.loc) / ((scale or self.scale()) * doubt)

    def update(
        self, value: float, ts_ms: int, alpha: float, scale: float | None = None, stillness: float | None = None
    ) -> None:
        """`scale`, `stillness`: this baseline's `scale()` and `stillness()` before the update, when the caller
        has them already (the hot path); nothing this update changes before using them affects either."""
        has_scale, has_stillness = scale is not None, stillness is not None
        scale_given = 0.0 if scale is None else scale
        stillness_given = 0.0 if stillness is None else stillness
        self.learn(value, ts_ms, alpha, has_scale, scale_given, has_stillness, stillness_given)

    def learn(
        self,
        value: float,
        ts_ms: int,
        alpha: float,
        has_scale: bool,
        scale: float,
        has_stillness: bool,
        stillness: float,
        side: int = 0,
        gap_cap_ms: float = math.inf,
    ) -> None:
        """`update` with plain doubles (compiled, no optional float to box): `scale` and `stillness` are used only
        when `has_scale` and `has_stillness` say they were given. `side`: the failure side (+1 up, -1 down) whose
        shifts' durations are recorded, 0 for a sensor whose shifts need no duration record (none watched either).
        `gap_cap_ms`: the most time one step between readings adds to a shift's watched span."""
        n, prior_n, loc = self.n, self.prior_n, self.loc
        if n == 0:
            self.loc, self.last, self.last_ts, self.n = value, value, ts_ms, 1
            return
        if n == 1 and prior_n == 0:
            self.mad = abs(value - loc) / 2  # a first guess of the noise, instead of zero
        # Two-argument min/max as comparisons, as in `evidence` (this runs for every sensor of every reading).
        young = 1.0 / (n + 1)
        rate = young if young > alpha else alpha  # cumulative mean while young, then exponential
        # No clipping for the first readings: the scale is still a guess.
        bound = HUBER_K * (scale if has_scale else self.scale()) if n + prior_n >= 10 else math.inf
        deviation = value - loc
        capped = deviation if deviation < bound else bound
        self.loc = loc + rate * (capped if capped > -bound else -bound)
        # The scale keeps the prior's pseudo-count: a location is learned from a few readings, a scale is not.
        young = 1.0 / (n + prior_n + 1)
        scale_rate = young if young > alpha else alpha
        # Outliers widen the scale at `outlier_share` of the rate, only up to the clip (RESIDUAL_OUTLIER_SHARE).
        # Persistent steps are accepted by moving the level (see DeviceModel's accept).
        # A sensor that has stopped moving (stuck) teaches nothing about its noise: without this its
        # scale collapses and the repaired sensor's ordinary noise alerts on every reading.
        # self.shifted() and self.holding(ts_ms), inlined: two calls fewer per sensor per reading.
        ewz_sq = self.ewz_sq
        shift_ts = self.shift_ts
        if not math.pow(self.ewz, 2.0) > _SHIFT_FREEZE_SQ * (_EVIDENCE_VAR if ewz_sq < _EVIDENCE_VAR else ewz_sq):
            if shift_ts:  # a shift has ended: a duration record toward failure? (only that side is ever news)
                lasted = self.shift_span_ms
                if side * self.ewz > 0.0:
                    if lasted > self.longest_shift_ms:
                        self.longest_shift_ms = lasted
                    self.shifts_n += 1
                    self.shifts_ms += lasted
                self.shift_span_ms = 0
            shift_ts = self.shift_ts = 0
        elif not shift_ts:
            shift_ts = self.shift_ts = ts_ms
        elif side:  # watched time: a device asleep mid-shift (a laptop shut while busy) must not set a record of hours
            watched = ts_ms - self.last_ts
            self.shift_span_ms += watched if watched < gap_cap_ms else int(gap_cap_ms)
        if not has_stillness:
            stillness = self.stillness()
        frozen = stillness > STILL_FREEZE or (shift_ts > 0 and ts_ms - shift_ts < SHIFT_HOLD_MS)
        distance = abs(deviation)
        if frozen:
            pass
        elif distance <= bound:
            self.mad += scale_rate * (distance - self.mad)
        else:
            self.mad += self.outlier_share * scale_rate * (bound - self.mad)
        last = self.last
        minutes = (ts_ms - self.last_ts) / 60_000
        if minutes > 0:
            self.slope += 0.1 * ((value - last) / minutes - self.slope)
        step = abs(value - last)
        self.step_fast += (rate if rate > 0.2 else 0.2) * (step - self.step_fast)
        if not frozen:
            self.step_slow += scale_rate * ((bound if bound < step else step) - self.step_slow)
        self.last, self.last_ts = value, ts_ms
        self.n = n + 1

    def shifted(self) -> bool:
        """The recent mean of z is far outside its healthy spread: a sustained shift."""
        ewz_sq = self.ewz_sq
        return math.pow(self.ewz, 2.0) > _SHIFT_FREEZE_SQ * (_EVIDENCE_VAR if ewz_sq < _EVIDENCE_VAR else ewz_sq)

    def holding(self, ts_ms: int) -> bool:
        """A sustained shift younger than SHIFT_HOLD_MS: a slow degradation may be in progress, so it teaches
        neither the noise scale nor the spread (else a slow ramp widens them until it looks normal). Only
        for a while: a shift that has lasted an hour is a new regime (a trend, a level change), and a
        filter that refuses to learn from it forever would alert forever."""
        return self.shift_ts > 0 and ts_ms - self.shift_ts < SHIFT_HOLD_MS

    def outlasts(self) -> bool:
        """The current sustained shift has been watched longer than any earlier one toward failure (a duration
        record; asked only of a shift toward failure, the side `learn` records)."""
        return self.shift_ts > 0 and self.shift_span_ms > self.longest_shift_ms

    def hold(self, value: float, ts_ms: int, gap_cap_ms: float) -> float:
        """Fold `value` into the level held over ~HELD_MS of event time (one step adds at most `gap_cap_ms`: after a
        gap nothing is known of what came between) and return it."""
        if self.last_ts <= 0:  # the sensor's first reading
            self.held = value
            return value
        held = self.held
        dt = float(ts_ms - self.last_ts)
        dt = dt if dt < gap_cap_ms else gap_cap_ms
        weight = 1.0 - math.exp(-dt / HELD_MS) if dt > 0.0 else 0.0
        held = self.held = held + weight * (value - held)
        return held

    def spell_rarity(self, shortest_ms: float, watched_ms: float) -> float:
        """Decades of rarity per device-hour of the current shift's length among the ended shifts toward failure, 0
        while it is no duration record. A record among n earlier shifts is 1-in-(n + 1) news per shift
        (exchangeable lengths), so a device that shifts r > 1 times an hour (n over `watched_ms`) sets one r
        times as often per hour: log10(r) less (the false-alert budget is per device-hour; for many shifts this
        is the records channel's log10(hours watched)). Its excess over the record is weighed by an exponential
        tail with their mean length; `shortest_ms`, the shortest shift the recent mean can show, stands in as one
        earlier shift (a device that never shifted before learns nothing of its shifts' lengths from none)."""
        span, longest, n = self.shift_span_ms, self.longest_shift_ms, self.shifts_n
        if not (self.shift_ts > 0 and span > longest):
            return 0.0
        mean = (self.shifts_ms + shortest_ms) / (n + 1)
        per_hour = n * _HOUR_MS / watched_ms if watched_ms > 0.0 else 0.0
        often = _log10(per_hour) if per_hour > 1.0 else 0.0
        return _log10(n + 1) + (span - longest) / (mean * _LN10) - often

    def stillness(self) -> float:
        """log2 of how much less the value moves now than it normally does: 0 while it moves as usual,
        growing steadily while it repeats itself exactly (a stuck sensor)."""
        step_slow, step_fast = self.step_slow, self.step_fast
        if self.n < 20 or step_slow <= self.floor:
            return 0.0
        # max(0, min(20, log2(slow / max(fast, 1e-12)))), as comparisons: called for every sensor of every reading
        ratio = _log2(step_slow / (1e-12 if step_fast < 1e-12 else step_fast))
        capped = ratio if ratio < 20.0 else 20.0
        return capped if capped > 0.0 else 0.0


@functools.cache  # one shared tuple per kind of model, not one per device
def feature_names(sensors: tuple[str, ...], device_type: str | None) -> tuple[str, ...]:
    limits = LIMITS.get(device_type or "", {})
    names = [f"z:{s}" for s in sensors] + [f"slope:{s}" for s in sensors] + [f"still:{s}" for s in sensors]
    names += [f"shift:{s}" for s in sensors]
    if "temperature_c" in sensors and "load_pct" in sensors:
        names.append(RESIDUAL_Z)
    names += [f"limit:{s}" for s in sensors if s in limits]
    names += [*THROTTLE_BITS, "gap", "surprise"]
    return tuple(names)


@functools.cache  # dumped with every envelope
def schema_hash(names: tuple[str, ...]) -> str:
    """Identifies the feature layout; a persisted model with another hash is not reused."""
    text = f"v{FEATURE_SCHEMA_VERSION}:{HUBER_K}:" + ",".join(names)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def limit_fraction(value: float, limit: tuple[float, float]) -> float:
    """How far from warning (0) toward critical (1) the value is; negative below warning. `limit`: the
    device type's (warning, critical) for the sensor (LIMITS)."""
    warn, critical = limit
    fraction = (value - warn) / (critical - warn)
    capped = fraction if fraction < 3.0 else 3.0  # max(-3.0, min(3.0, fraction)), as comparisons (hot path)
    return capped if capped > -3.0 else -3.0


def minutes_to_limit(
    baseline: SensorBaseline, value: float, limit: tuple[float, float], scale: float | None = None
) -> float | None:
    """Linear extrapolation of the recent trend to the critical level, when it is heading there.
    `scale`: the baseline's `scale()`, when the caller has it already."""
    if baseline.n < 10:
        return None
    critical = limit[1]
    if value >= critical:
        return 0.0
    # Only a trend clearly above the noise counts: one scale per 10 minutes at least.
    if baseline.slope <= (baseline.scale() if scale is None else scale) / 10:
        return None
    return (critical - value) / baseline.slope


def gap_feature(dt_ms: int, cadence_ms: float) -> float:
    """log2 of how many cadences passed since the previous reading, minus one (0 when on time)."""
    if cadence_ms <= 0 or dt_ms <= 0:
        return 0.0
    return max(0.0, min(10.0, math.log2(dt_ms / cadence_ms)))
