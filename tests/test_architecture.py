"""The import contracts in pyproject's [tool.importlinter] hold for the whole non-test tree: no cycles, and no
import from a lower layer into a higher one (the stages never import each other)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_import_contracts_are_kept() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a dev dependency: `make install`"
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout


def test_every_package_is_under_contract() -> None:
    """A new top-level package must take its place in the layers, or it could import anything."""
    packages = {p.rstrip("*") for p in PROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}
    contracts = PROJECT["tool"]["importlinter"]
    assert set(contracts["root_packages"]) == packages
    layered = {name.strip() for layer in contracts["contracts"][0]["layers"] for name in layer.split("|")}
    assert layered == packages
    acyclic = next(c for c in contracts["contracts"] if c["type"] == "acyclic_siblings")
    assert set(acyclic["ancestors"]) == packages
