"""The compiled stream processor (streams/native.py's PROCESSOR group, built by `make install` beside the
model) is used only when it matches its sources, and it gives the Python source's bits: the processor's
pinned run passes in a fresh interpreter on each implementation. The mechanism itself (manifest, stale
sources, the pure switch) is tested on the model's group (tests/streams/model/test_native.py)."""

from __future__ import annotations

import importlib.machinery
import os
import subprocess
import sys
from pathlib import Path

import pytest

import streams
from streams import native, processor, windows

ROOT = Path(__file__).resolve().parents[2]
BUILT = not native.PROCESSOR.stale()  # this checkout has a usable build (make install compiled it)


def test_this_process_runs_the_implementation_it_states() -> None:
    for module in (processor, windows):
        compiled = module.__file__ is not None and module.__file__.endswith(
            tuple(importlib.machinery.EXTENSION_SUFFIXES)
        )
        assert ("compiled" if compiled else "python") == streams.IMPLEMENTATION, module.__file__
    if os.environ.get(native.PURE_ENV) != "1":  # a fresh build is always used
        assert ("compiled" if BUILT else "python") == streams.IMPLEMENTATION


def test_stale_names_an_edited_source(tmp_path: Path) -> None:
    group = native.Group("streams", tmp_path, native.PROCESSOR.compiled, "stream processor")
    for name in group.compiled:
        (tmp_path / f"{name}.py").write_bytes((ROOT / "streams" / f"{name}.py").read_bytes())
    assert group.stale() == [f"no extension for {', '.join([*group.compiled, native.LIBRARY])}"]


_PINNED = """
import streams
from tests.streams import test_processor_pinned as t
import pytest
for kept in (0, 1_000, 7):
    with pytest.MonkeyPatch.context() as monkeypatch:
        t.test_the_outputs_are_bit_identical_to_the_pinned_run(monkeypatch, kept)
print(streams.IMPLEMENTATION)
"""


@pytest.mark.parametrize("implementation", ["python", "compiled"])
def test_pinned_bits_under_each_implementation(implementation: str) -> None:
    if implementation == "compiled" and not BUILT:
        pytest.skip(f"the processor is not compiled here ({'; '.join(native.PROCESSOR.stale())}): `make install`")
    environ = {k: v for k, v in os.environ.items() if k != native.PURE_ENV} | {"PYTHONPATH": str(ROOT)}
    if implementation == "python":
        environ[native.PURE_ENV] = "1"
    result = subprocess.run(
        [sys.executable, "-c", _PINNED], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split()[-1] == implementation
