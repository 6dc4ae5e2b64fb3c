"""Which implementation of the failure model this process runs: its mypyc-compiled hot path or the Python source.

`make install` compiles the modules in COMPILED into C extensions beside their sources (`python -m
streams.model.build`); Python's import system prefers an extension to the .py of the same name. The build
records the sha256 of every source it compiled (MANIFEST). An extension whose source has changed since
would silently run the old code, so then the package imports every model module from its .py instead,
with a RuntimeWarning that names the changed files; `FLEETPULSE_MODEL_PURE=1` does the same on purpose
(and makes the build skip compiling). All or none: the compiled modules call each other natively, so a
mix of fresh source and old extensions is never run.

This module is never compiled itself: it decides before any compiled module is imported.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
PACKAGE = "streams.model"
# The modules DeviceModel.update, the envelope's load/dump and ModelService run per reading; telemetry
# (Prometheus counters) and federated (a prior per device type, now and then) gain nothing from it.
COMPILED = (
    "calibration",
    "degradation",
    "detector",
    "drift",
    "envelope",
    "features",
    "predictor",
    "records",
    "service",
    "supervised",
)
GROUP = f"{PACKAGE}.compiled"  # mypyc's group: its shared library is streams/model/compiled__mypyc.<abi>.so
LIBRARY = "compiled__mypyc"
MANIFEST = HERE / "compiled.json"  # {module: sha256 of the source it was compiled from}
PURE_ENV = "FLEETPULSE_MODEL_PURE"


def source_hashes(directory: Path = HERE) -> dict[str, str]:
    return {name: hashlib.sha256((directory / f"{name}.py").read_bytes()).hexdigest() for name in COMPILED}


def extension(name: str, directory: Path = HERE) -> Path | None:
    """The built extension of module `name` (or of the shared library), when there is one for this Python."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = directory / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def artefacts(directory: Path = HERE) -> list[Path]:
    """Every file a build leaves beside the sources (what `build` removes before compiling afresh)."""
    names = [*COMPILED, LIBRARY]
    found = [p for name in names for p in directory.glob(f"{name}.*") if p.suffix in (".so", ".pyd")]
    return found + ([directory / MANIFEST.name] if (directory / MANIFEST.name).exists() else [])


def stale(directory: Path = HERE) -> list[str]:
    """Why the extensions in `directory` must not run (empty when they match their sources): the sources
    changed since the build, or the build is incomplete."""
    missing = [name for name in [*COMPILED, LIBRARY] if extension(name, directory) is None]
    if missing:
        return [f"no extension for {', '.join(missing)}"]
    try:
        built = json.loads((directory / MANIFEST.name).read_text())
    except (OSError, ValueError):
        return [f"no readable {MANIFEST.name} (the sources it was built from are unknown)"]
    current = source_hashes(directory)
    return [f"{name}.py changed since it was compiled" for name in COMPILED if built.get(name) != current[name]]


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Imports the compiled modules of the package from their .py files, extensions or not."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != PACKAGE or name not in COMPILED:
            return None
        return importlib.util.spec_from_file_location(fullname, self.directory / f"{name}.py")


def choose() -> str:
    """'compiled' or 'python' for this process; for 'python' over built extensions, makes the package's
    imports of the compiled modules load their sources."""
    if not any(extension(name) for name in COMPILED):
        return "python"  # nothing was built (or the build was skipped): imports find only the sources
    if os.environ.get(PURE_ENV) == "1":
        _use_sources()
        return "python"
    reasons = stale()
    if reasons:
        warnings.warn(
            f"the compiled failure model is stale ({'; '.join(reasons)}): running its Python source instead. "
            f"Rebuild with `make install` (or `python -m {PACKAGE}.build`), or set {PURE_ENV}=1.",
            RuntimeWarning,
            stacklevel=2,
        )
        _use_sources()
        return "python"
    return "compiled"


def _use_sources() -> None:
    if not any(isinstance(f, _SourceFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFinder(HERE))
