"""The fuzz suite (bench/fuzz_bench.py) at a tenth of its size on every test run: every fuzzed input is
applied correctly, dead-lettered with the right reason or skipped as a redelivery; nothing crashes; the
healthy devices that kept reporting end exactly as they do without the fuzz, with no liveness transition."""

from __future__ import annotations

from bench import fuzz_bench


def test_fuzzed_input_never_poisons_the_healthy_fleet() -> None:
    fuzzed, alone = fuzz_bench.run(1_100, rounds=200), fuzz_bench.run(0, rounds=200)
    wrong = {name: tally.wrong[:3] for name, tally in fuzzed.tallies.items() if tally.wrong}
    assert not wrong, wrong
    assert all(tally.inputs >= 100 for tally in fuzzed.tallies.values()), "every category is exercised"
    assert fuzzed.crashes == 0 and fuzzed.batches == 200
    assert fuzzed.honest_transitions == 0
    assert fuzz_bench.healthy_states_differ(fuzzed, alone) == []


def test_the_control_without_admission_is_poisoned() -> None:
    """The suite can fail: without admission the same inputs change the healthy devices."""
    control, alone = fuzz_bench.run(1_100, rounds=200, admit=False), fuzz_bench.run(0, rounds=200)
    assert fuzz_bench.healthy_states_differ(control, alone)
