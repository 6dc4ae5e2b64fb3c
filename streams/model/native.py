"""Which implementation of the failure model this process runs: its mypyc-compiled hot path or the Python source.

`make install` compiles the modules in COMPILED into C extensions beside their sources (`python -m
streams.model.build`); Python's import system prefers an extension to the .py of the same name. The build
records the sha256 of every source it compiled (MANIFEST). An extension whose source has changed since
would silently run the old code, so then the package imports every model module from its .py instead,
with a RuntimeWarning that names the changed files; `FLEETPULSE_MODEL_PURE=1` does the same on purpose
(and makes the build skip compiling). All or none: the compiled modules call each other natively, so a
mix of fresh source and old extensions is never run. The mechanism is streams/native.py's, shared with the
stream processor's compiled group.

This module is never compiled itself: it decides before any compiled module is imported.
"""

from __future__ import annotations

from pathlib import Path

from streams import native
from streams.native import LIBRARY, PURE_ENV

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
MODEL = native.Group(PACKAGE, HERE, COMPILED, "failure model")
GROUP = MODEL.group  # mypyc's group: its shared library is streams/model/compiled__mypyc.<abi>.so
MANIFEST = MODEL.manifest  # {module: sha256 of the source it was compiled from}
__all__ = ["COMPILED", "GROUP", "HERE", "LIBRARY", "MANIFEST", "MODEL", "PACKAGE", "PURE_ENV"]


def source_hashes(directory: Path = HERE) -> dict[str, str]:
    return MODEL.source_hashes(directory)


def extension(name: str, directory: Path = HERE) -> Path | None:
    """The built extension of module `name` (or of the shared library), when there is one for this Python."""
    return native.extension(name, directory)


def artefacts(directory: Path = HERE) -> list[Path]:
    """Every file a build leaves beside the sources (what `build` removes before compiling afresh)."""
    return MODEL.artefacts(directory)


def stale(directory: Path = HERE) -> list[str]:
    """Why the extensions in `directory` must not run (empty when they match their sources): the sources
    changed since the build, or the build is incomplete."""
    return MODEL.stale(directory)


def choose() -> str:
    """'compiled' or 'python' for this process; for 'python' over built extensions, makes the package's
    imports of the compiled modules load their sources."""
    return MODEL.choose()
