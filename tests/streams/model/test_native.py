"""The compiled failure model is used only when it matches its sources, and it gives the Python source's bits.

`make install` compiles streams/model's hot path with mypyc (streams/model/build.py). These tests pin what
may never happen silently: an extension built from an older source being run, and a compiled model whose
scores or envelopes differ from the Python model's (the golden run, in a fresh interpreter per
implementation).
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import streams.model
from streams.model import detector, native

ROOT = Path(__file__).resolve().parents[3]
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]
BUILT = not native.stale()  # this checkout has a usable build (make install compiled it)


def _python(code: str, *, cwd: Path = ROOT, path: list[Path] | None = None, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != native.PURE_ENV} | env
    environ["PYTHONPATH"] = os.pathsep.join(str(p) for p in [*(path or []), ROOT])
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=environ, capture_output=True, text=True, timeout=240, check=False
    )


def test_this_process_runs_the_implementation_it_states() -> None:
    """`streams.model.IMPLEMENTATION` (also in pytest's header) is what the imported modules are."""
    compiled = detector.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    assert ("compiled" if compiled else "python") == streams.model.IMPLEMENTATION, detector.__file__
    if os.environ.get(native.PURE_ENV) != "1":  # a fresh build is always used
        assert ("compiled" if BUILT else "python") == streams.model.IMPLEMENTATION


def _fake_build(directory: Path) -> None:
    """Extensions that cannot load (so importing one fails loudly) and a manifest matching the sources."""
    for name in [*native.COMPILED, native.LIBRARY]:
        (directory / f"{name}{SUFFIX}").write_bytes(b"not an extension")
    (directory / native.MANIFEST.name).write_text(json.dumps(native.source_hashes(directory)))


def test_stale_is_empty_only_for_a_complete_build_of_these_sources(tmp_path: Path) -> None:
    for name in native.COMPILED:
        shutil.copy(native.HERE / f"{name}.py", tmp_path)
    assert native.stale(tmp_path) == [f"no extension for {', '.join([*native.COMPILED, native.LIBRARY])}"]
    _fake_build(tmp_path)
    assert native.stale(tmp_path) == []
    with (tmp_path / "detector.py").open("a") as source:
        source.write("# edited after the build\n")
    assert native.stale(tmp_path) == ["detector.py changed since it was compiled"]
    (tmp_path / native.MANIFEST.name).unlink()
    assert native.stale(tmp_path) == ["no readable compiled.json (the sources it was built from are unknown)"]
    _fake_build(tmp_path)
    (tmp_path / f"{native.LIBRARY}{SUFFIX}").unlink()
    assert native.stale(tmp_path) == [f"no extension for {native.LIBRARY}"]


_SCORE_ONE = """
import streams.model, streams.model.detector as d
m = d.DeviceModel("pc")
a = m.update(0, {"temperature_c": 50.0, "load_pct": 40.0})
print(streams.model.IMPLEMENTATION, d.__file__, a.warming_up)
"""


def _package_copy(tmp_path: Path, build: bool) -> Path:
    """streams/ with only its model package, shadowing the checkout's (schemas, core still come from it)."""
    (tmp_path / "streams").mkdir()
    shutil.copy(ROOT / "streams" / "__init__.py", tmp_path / "streams")
    shutil.copy(ROOT / "streams" / "native.py", tmp_path / "streams")  # the mechanism both groups share
    copy = tmp_path / "streams" / "model"
    shutil.copytree(native.HERE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so", native.MANIFEST.name))
    if build:
        _fake_build(copy)
    return copy


def test_an_extension_older_than_its_source_is_never_imported(tmp_path: Path) -> None:
    copy = _package_copy(tmp_path, build=True)
    with (copy / "detector.py").open("a") as source:
        source.write("# edited after the build\n")
    result = _python(_SCORE_ONE, cwd=tmp_path, path=[tmp_path])
    assert result.returncode == 0, result.stderr
    implementation, path, _ = result.stdout.split()
    assert (implementation, path) == ("python", str(copy / "detector.py"))
    assert "RuntimeWarning: the compiled failure model is stale (detector.py changed since it was compiled)" in (
        result.stderr
    )


def test_the_fake_build_would_be_imported_when_fresh(tmp_path: Path) -> None:
    """The control for the test above: with matching sources the (unloadable) extensions are chosen."""
    _package_copy(tmp_path, build=True)
    result = _python(_SCORE_ONE, cwd=tmp_path, path=[tmp_path])
    assert result.returncode != 0 and "ImportError" in result.stderr, result.stdout + result.stderr


def test_pure_python_on_request_even_over_a_fresh_build(tmp_path: Path) -> None:
    copy = _package_copy(tmp_path, build=True)
    result = _python(_SCORE_ONE, cwd=tmp_path, path=[tmp_path], **{native.PURE_ENV: "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["python", str(copy / "detector.py")]
    assert "RuntimeWarning" not in result.stderr


_GOLDEN = """
import streams.model
from tests.streams.model import test_golden
test_golden.test_scores_and_envelopes_are_bit_identical_to_the_recorded_run()
print(streams.model.IMPLEMENTATION)
"""


@pytest.mark.parametrize("implementation", ["python", "compiled"])
def test_golden_bits_under_each_implementation(implementation: str) -> None:
    """The golden hashes (every score and stored byte) pass in a fresh interpreter on each implementation."""
    if implementation == "compiled" and not BUILT:
        pytest.skip(f"the model is not compiled here ({'; '.join(native.stale())}): `make install` builds it")
    env = {native.PURE_ENV: "1"} if implementation == "python" else {}
    result = _python(_GOLDEN, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split()[-1] == implementation
