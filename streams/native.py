"""Which implementation of a compiled group of modules a process runs: its mypyc extensions or the Python source.

The worker's per-reading path is compiled in two groups (`python -m streams.model.build`, run by `make
install`): the failure model (streams/model/native.py) and the stream processor around it (PROCESSOR below).
Each group's extensions sit beside its sources, and Python's import system prefers an extension to the .py of
the same name. The build records the sha256 of every source it compiled in the group's manifest; an extension
whose source has changed since would silently run the old code, so then the group's package imports every one
of its compiled modules from the .py instead, with a RuntimeWarning that names the changed files;
`FLEETPULSE_MODEL_PURE=1` does the same for every group on purpose (and makes the build skip compiling). All
or none per group: a group's compiled modules call each other natively, so a mix of fresh source and old
extensions is never run. The groups do not import each other's modules, so each decides alone.

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

PURE_ENV = "FLEETPULSE_MODEL_PURE"  # "1": every group runs its Python source (named when only the model was compiled)
LIBRARY = "compiled__mypyc"  # a group's shared library: <directory>/compiled__mypyc.<abi>.so
MANIFEST_NAME = "compiled.json"  # {module: sha256 of the source it was compiled from}


class Group:
    """The compiled modules of one package (mypyc group `<package>.compiled`), their manifest and their choice."""

    def __init__(self, package: str, directory: Path, compiled: tuple[str, ...], what: str) -> None:
        self.package, self.directory, self.compiled, self.what = package, directory, compiled, what
        self.group = f"{package}.compiled"
        self.manifest = directory / MANIFEST_NAME

    def source_hashes(self, directory: Path | None = None) -> dict[str, str]:
        directory = directory or self.directory
        return {name: hashlib.sha256((directory / f"{name}.py").read_bytes()).hexdigest() for name in self.compiled}

    def artefacts(self, directory: Path | None = None) -> list[Path]:
        """Every file a build leaves beside the sources (what the build removes before compiling afresh)."""
        directory = directory or self.directory
        names = [*self.compiled, LIBRARY]
        found = [p for name in names for p in directory.glob(f"{name}.*") if p.suffix in (".so", ".pyd")]
        return found + ([directory / MANIFEST_NAME] if (directory / MANIFEST_NAME).exists() else [])

    def stale(self, directory: Path | None = None) -> list[str]:
        """Why the extensions in `directory` must not run (empty when they match their sources): the sources
        changed since the build, or the build is incomplete."""
        directory = directory or self.directory
        missing = [name for name in [*self.compiled, LIBRARY] if extension(name, directory) is None]
        if missing:
            return [f"no extension for {', '.join(missing)}"]
        try:
            built = json.loads((directory / MANIFEST_NAME).read_text())
        except (OSError, ValueError):
            return [f"no readable {MANIFEST_NAME} (the sources it was built from are unknown)"]
        current = self.source_hashes(directory)
        changed = [name for name in self.compiled if built.get(name) != current[name]]
        return [f"{name}.py changed since it was compiled" for name in changed]

    def choose(self) -> str:
        """'compiled' or 'python' for this process; for 'python' over built extensions, makes the package's
        imports of the compiled modules load their sources."""
        if not any(extension(name, self.directory) for name in self.compiled):
            return "python"  # nothing was built (or the build was skipped): imports find only the sources
        if os.environ.get(PURE_ENV) == "1":
            self._use_sources()
            return "python"
        reasons = self.stale()
        if reasons:
            warnings.warn(
                f"the compiled {self.what} is stale ({'; '.join(reasons)}): running its Python source instead. "
                f"Rebuild with `make install` (or `python -m streams.model.build`), or set {PURE_ENV}=1.",
                RuntimeWarning,
                stacklevel=3,
            )
            self._use_sources()
            return "python"
        return "compiled"

    def _use_sources(self) -> None:
        if not any(isinstance(f, _SourceFinder) and f.group is self for f in sys.meta_path):
            sys.meta_path.insert(0, _SourceFinder(self))


def extension(name: str, directory: Path) -> Path | None:
    """The built extension of module `name` (or of a shared library), when there is one for this Python."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = directory / f"{name}{suffix}"
        if path.exists():
            return path
    return None


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Imports the compiled modules of one group from their .py files, extensions or not."""

    def __init__(self, group: Group) -> None:
        self.group = group

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != self.group.package or name not in self.group.compiled:
            return None
        return importlib.util.spec_from_file_location(fullname, self.group.directory / f"{name}.py")


# The stream processor's per-reading modules (Processor.process and what it calls per reading, window or
# batch); the Faust agents, timers and metrics around it gain nothing from it. None imports a model module.
PROCESSOR = Group(
    "streams",
    Path(__file__).resolve().parent,
    ("admission", "alert_hold", "decoded", "liveness", "processor", "storage", "windows"),
    "stream processor",
)
