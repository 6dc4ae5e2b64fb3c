"""Fixtures for the deployment tests: the tools (installed by `make tools`, or here on first use),
the rendered chart for every ci/*-values.yaml, and the resolved compose file. No Docker engine or
cluster is needed: everything is rendered and validated offline."""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from core.settings import Settings
from fleetpulse.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "fleetpulse"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
TOOLS_BIN = Path(os.environ.get("FLEETPULSE_TOOLS_BIN", Path.home() / ".cache" / "fleetpulse" / "bin"))
# Every CRD group the chart can render, so `helm template` renders them (as a cluster with them would).
API_VERSIONS = ["monitoring.coreos.com/v1", "keda.sh/v1alpha1", "kafka.strimzi.io/v1beta2"]
KUBE_VERSION = "1.30.0"
SETTING_NAMES = {f"FLEETPULSE_{name.upper()}" for name in Settings.model_fields}


def load_script(path: Path) -> Any:
    """Import one of our scripts by path (docker/ and helm/ are not packages: `docker` would clash)."""
    spec = importlib.util.spec_from_file_location(f"fleetpulse_deploy_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def tool(name: str) -> str:
    """Path of helm or docker-compose; installs them once (docker/install-tools.sh) when missing."""
    path = TOOLS_BIN / name
    if not path.exists():
        result = subprocess.run(
            [str(ROOT / "docker" / "install-tools.sh")], capture_output=True, text=True, timeout=900, check=False
        )
        if not path.exists():
            pytest.skip(f"{name} is not installed and docker/install-tools.sh failed: {result.stderr[-500:]}")
    return str(path)


@functools.cache
def crd_validator() -> Path:
    """validate_crds.mjs placed beside the npm CRD models (ESM resolves packages from the script's dir)."""
    node_dir = TOOLS_BIN.parent / "node"
    if not (node_dir / "node_modules" / "@kubernetes-models" / "keda").exists():
        tool("helm")  # runs docker/install-tools.sh, which also installs the models
    if not (node_dir / "node_modules" / "@kubernetes-models" / "keda").exists() or not shutil.which("node"):
        pytest.skip("CRD schemas (@kubernetes-models via npm) or node are not installed: run `make tools`")
    script = node_dir / "validate_crds.mjs"
    shutil.copyfile(Path(__file__).with_name("validate_crds.mjs"), script)
    return script


def venv_tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        pytest.skip(f"{name} not installed: `.venv/bin/pip install -e '.[dev]'` provides it")
    return found


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    # compose interpolates ${FLEETPULSE_*} from the caller's environment: the test stack's own settings
    # (make test exports them) must not leak into what the files alone say.
    kwargs.setdefault("env", {k: v for k, v in os.environ.items() if not k.startswith("FLEETPULSE_")})
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, cwd=ROOT, **kwargs)


def helm_template(*values_files: Path, sets: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    args = [tool("helm"), "template", "rel", str(CHART), "--kube-version", KUBE_VERSION]
    for api in API_VERSIONS:
        args += ["--api-versions", api]
    for values in values_files:
        args += ["-f", str(values)]
    for item in sets:
        args += ["--set", item]
    return run(args)


@functools.cache
def render(*values_files: Path, sets: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    result = helm_template(*values_files, sets=sets)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def command_exists(args: list[str]) -> bool:
    """True when `fleetpulse <args>` names a real (possibly nested) click command."""
    command: click.Command = cli_main
    for word in args:
        if word.startswith("-"):
            break
        if not isinstance(command, click.Group):
            return True  # the rest are this command's arguments
        sub = command.get_command(click.Context(command), word)  # also finds lazily imported commands
        if sub is None:
            return False
        command = sub
    return not isinstance(command, click.Group)


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    kind = doc["kind"]
    if kind in {"Deployment", "StatefulSet", "Job", "DaemonSet"}:
        return doc["spec"]["template"]["spec"]
    if kind == "Pod":
        return doc["spec"]
    return None


@pytest.fixture(scope="session")
def compose_config() -> dict[str, Any]:
    """`docker compose config` with every profile, resolved (anchors, merges, .env.example)."""
    result = run([tool("docker-compose"), "--env-file", ".env.example", "--profile", "*", "config", "--format", "json"])
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)
