"""Worker metrics helpers."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry, Histogram

from streams.metrics import observe_many

BOUNDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def _samples(histogram: Histogram) -> dict[str, float]:
    [family] = histogram.collect()
    return {f"{s.name}{sorted(s.labels.items())}": s.value for s in family.samples if not s.name.endswith("_created")}


def test_observe_many_counts_exactly_as_observe_one_by_one() -> None:
    rng = random.Random(3)
    amounts = [rng.choice([0.0, 0.05, 0.1, 10, 11.5, rng.uniform(0, 12)]) for _ in range(5_000)]
    one = Histogram("one_seconds", "", buckets=BOUNDS, registry=CollectorRegistry())
    many = Histogram("many_seconds", "", buckets=BOUNDS, registry=CollectorRegistry())
    for amount in amounts:
        one.observe(amount)
    observe_many(many, amounts[:1_000])
    observe_many(many, amounts[1_000:])
    observe_many(many, [])
    got = {name.replace("many", "one"): value for name, value in _samples(many).items()}
    want = _samples(one)
    assert {k: v for k, v in got.items() if "sum" not in k} == {k: v for k, v in want.items() if "sum" not in k}
    assert got["one_seconds_sum[]"] == pytest.approx(want["one_seconds_sum[]"], rel=1e-12)
