"""The hot path's hand-written shortcuts give what the builtins and libm calls they replace give, bit for bit."""

from __future__ import annotations

import math
import random
import struct

import pytest

from streams.model import calibration, detector


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def test_gaussian_surprise_of_zero_is_the_libm_value() -> None:
    for z in (0.0, -0.0):
        assert _bits(calibration.gaussian_surprise(z)) == _bits(-math.log10(math.erfc(abs(z) / math.sqrt(2.0))))
    for z in (5e-324, 1e-300, 1e-9, 0.5, -3.0, 19.9 * math.sqrt(2.0), 40.0):  # the paths beside it are unchanged
        x = abs(z) / math.sqrt(2.0)
        if x < 20.0:
            assert _bits(calibration.gaussian_surprise(z)) == _bits(-math.log10(max(math.erfc(x), 1e-300)))


def test_largest_and_smallest_are_max_and_min() -> None:
    rng = random.Random(4)
    pool = [0.0, -0.0, 1.0, -1.0, math.nan, math.inf, -math.inf, 2.5]
    for _ in range(5_000):
        values = [rng.choice(pool) if rng.random() < 0.5 else rng.uniform(-3, 3) for _ in range(rng.randint(0, 7))]
        assert _bits(detector._largest(values)) == _bits(max(values, default=0.0)), values
        if values:
            assert _bits(detector._smallest(values)) == _bits(min(values)), values


def test_scored_readings_are_counted_when_the_model_is_closed() -> None:
    from prometheus_client import REGISTRY

    from streams.model.service import ModelService
    from tests.streams.model.test_service import batches

    def counted() -> float:
        value = REGISTRY.get_sample_value("fleetpulse_worker_model_updates_total", {"kind": "reading"})
        return value or 0.0

    before = counted()
    batches(ModelService(), None, 0, 130, random.Random(9), size=50)  # three batches: 50, 50, 30 readings
    assert counted() - before == 130


def test_baseline_and_thermal_states_are_their_fields_in_order() -> None:
    """SensorBaseline.state() and ThermalFit.state() give what attrgetter over their fields gives (the envelope's
    bytes depend on the values and their types, int or float)."""
    import msgspec

    from streams.model import envelope
    from streams.model.detector import DeviceModel

    model = DeviceModel("pc")
    rng = random.Random(3)
    for k in range(300):
        model.update(
            k * 5_000, {"temperature_c": 50 + rng.gauss(0, 1), "load_pct": 40 + rng.gauss(0, 5), "fan_cfm": 35.0}
        )
    assert model.thermal is not None and model.residual is not None
    for baseline in [*model.baselines.values(), model.residual]:
        want = msgspec.msgpack.encode(envelope._baseline_fields(baseline))
        assert msgspec.msgpack.encode(baseline.state()) == want
    assert msgspec.msgpack.encode(model.thermal.state()) == msgspec.msgpack.encode(
        envelope._thermal_fields(model.thermal)
    )


def test_math_pow_is_the_power_operator_on_floats() -> None:
    """The hot path writes x ** y as math.pow(x, y) (compiled, math.pow is native and ** is generic): the same
    libm pow behind the same special cases, so the same bits; held here for Python's math.pow and the compiled
    one (calibration.power, when this process runs the compiled model)."""
    rng = random.Random(8)
    specials = [0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, 5e-324, 1e-300, 1e300]
    bases = specials + [rng.gauss(0, 10) for _ in range(2_000)] + [rng.uniform(0, 1e-150) for _ in range(200)]
    for x in bases:
        for y in (2.0, 1.0 / 3.0):
            if y != 2.0 and (x < 0 or x != x):
                continue  # a negative base to a fraction is complex with **: the model's bases are >= 0 there
            try:
                want = x**y
            except OverflowError:
                for pow_ in (math.pow, calibration.power):
                    with pytest.raises(OverflowError):
                        pow_(x, y)
                continue
            assert _bits(math.pow(x, y)) == _bits(want) == _bits(calibration.power(x, y)), (x, y)
    for r in [*specials, *(rng.uniform(-400, 400) for _ in range(2_000))]:
        try:
            want = 10.0 ** (-r)
        except OverflowError:
            for pow_ in (math.pow, calibration.power):
                with pytest.raises(OverflowError):
                    pow_(10.0, -r)
            continue
        assert _bits(math.pow(10.0, -r)) == _bits(want) == _bits(calibration.power(10.0, -r)), r
