"""Copy the files the chart ships from their sources into helm/fleetpulse/ (helm can't read outside
the chart, and doesn't follow symlinks out of it).

  grafana/dashboards/*.json            -> dashboards/          (Grafana sidecar ConfigMaps)
  grafana/provisioning/alerting/*.yaml -> files/alerting/      (Grafana alerting sidecar ConfigMap)
  grafana/prometheus/*.yml rule files  -> files/rules/         (PrometheusRule)
  connectors/*.json                    -> files/connectors/    (Strimzi KafkaConnector resources)

`python helm/sync.py` writes; `--check` exits 1 and lists what differs. A missing source directory is
an empty set: the chart then renders no resource of that kind.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm" / "fleetpulse"


def _rule_files(folder: Path) -> list[Path]:
    # Only Prometheus rule files (a top-level `groups:`), not the alertmanager.yml beside them.
    return [path for path in sorted(folder.glob("*.yml")) if "groups" in (yaml.safe_load(path.read_text()) or {})]


MAPPINGS: list[tuple[str, Path, str]] = [
    ("grafana/dashboards", CHART / "dashboards", "*.json"),
    ("grafana/provisioning/alerting", CHART / "files" / "alerting", "*.yaml"),
    ("grafana/prometheus", CHART / "files" / "rules", "rules"),
    ("connectors", CHART / "files" / "connectors", "*.json"),
]


def _sources(folder: Path, pattern: str) -> Iterable[Path]:
    if not folder.is_dir():
        return []
    return _rule_files(folder) if pattern == "rules" else sorted(folder.glob(pattern))


def plan() -> dict[Path, bytes | None]:
    """Destination path -> wanted content (None: a stale file to delete)."""
    wanted: dict[Path, bytes | None] = {}
    for source, destination, pattern in MAPPINGS:
        expected = {destination / path.name: path.read_bytes() for path in _sources(ROOT / source, pattern)}
        wanted.update(expected)
        if destination.is_dir():
            for existing in destination.iterdir():
                if existing.is_file() and existing.name != ".gitkeep" and existing not in expected:
                    wanted[existing] = None
    return wanted


def differences() -> list[str]:
    out = []
    for path, content in sorted(plan().items()):
        current = path.read_bytes() if path.exists() else None
        if current != content:
            out.append(f"{'stale' if content is None else 'outdated'}: {path.relative_to(ROOT)}")
    return out


def write() -> list[str]:
    changed = differences()
    for path, content in plan().items():
        if content is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    return changed


if __name__ == "__main__":
    if "--check" in sys.argv:
        problems = differences()
        print("\n".join(problems) or "helm/fleetpulse is in sync")
        sys.exit(1 if problems else 0)
    for line in write() or ["helm/fleetpulse already in sync"]:
        print(line)
