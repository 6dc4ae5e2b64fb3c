"""Install what the local stack runs: jars from Maven Central, dynoxide from crates.io, Prometheus from Debian,
our Connect plugin. Every version is pinned here or in the POMs, and each install is cached by version."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import click

JVM_DIR = Path(__file__).parent / "jvm"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONNECTOR_SOURCE = PROJECT_ROOT / "connectors" / "dynamodb-sink"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.10.0"


class Crate(NamedTuple):
    """A binary built from crates.io with the crate's own lock file (`cargo install --locked`)."""

    name: str
    version: str
    binary: str
    features: tuple[str, ...] = ()


# The open-source DynamoDB-compatible server (MIT OR Apache-2.0): SQLite-backed, speaks the DynamoDB JSON API.
DYNOXIDE = Crate("dynoxide-rs", "3.2.0", "dynoxide", ("native-sqlite", "http-server", "cli"))


class InstallError(RuntimeError):
    pass


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-25:]
        raise InstallError(f"{what} failed ({' '.join(argv[:3])} …):\n" + "\n".join(output))


def jars(cache_dir: Path, pom: str) -> Path:
    """Resolve a runtime classpath from one of the POMs in jvm/ into the cache (idempotent)."""
    pom_path = JVM_DIR / pom
    target = cache_dir / pom_path.name.removesuffix(".pom.xml")
    stamp = target / ".resolved-from"
    if stamp.exists() and stamp.read_text() == pom_path.read_text():
        return target
    click.echo(f"  resolving {pom_path.name} from Maven Central into {target} …")
    shutil.rmtree(target, ignore_errors=True)
    _run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(pom_path),
            f"{DEPENDENCY_PLUGIN}:copy-dependencies",
            f"-DoutputDirectory={target}",
            "-DincludeScope=runtime",
        ],
        f"resolving {pom}",
    )
    stamp.write_text(pom_path.read_text())
    click.echo(f"  {len(list(target.glob('*.jar')))} jars in {target}")
    return target


def crate_binary(cache_dir: Path, crate: Crate) -> Path:
    """Build a pinned crate's binary into cache_dir/crates/<name>-<version> once; later calls reuse it."""
    root = cache_dir / "crates" / f"{crate.name}-{crate.version}"
    binary = root / "bin" / crate.binary
    if binary.exists():
        return binary
    if not shutil.which("cargo"):
        raise InstallError(f"{crate.name} {crate.version} is built with cargo, which is missing: install Rust (rustup)")
    click.echo(f"  building {crate.name} {crate.version} from crates.io into {root} (first time only, ~3 min) …")
    features = ["--no-default-features", "--features", ",".join(crate.features)] if crate.features else []
    _run(
        ["cargo", "install", crate.name, "--version", crate.version, "--locked", *features, "--root", str(root)],
        f"building {crate.name}",
    )
    return binary


def connector_plugin() -> Path:
    """Build our DynamoDB sink plugin with Maven when its sources changed; return the plugin.path dir."""
    plugin_dir = CONNECTOR_SOURCE / "target" / "plugin"
    stamp = plugin_dir / ".built"
    sources = [CONNECTOR_SOURCE / "pom.xml", *CONNECTOR_SOURCE.glob("src/main/**/*")]
    newest = max(path.stat().st_mtime for path in sources if path.is_file())
    if stamp.exists() and stamp.stat().st_mtime >= newest:
        return plugin_dir
    click.echo("  building the DynamoDB sink connector plugin (mvn package) …")
    _run(
        ["mvn", "-q", "-B", "-f", str(CONNECTOR_SOURCE / "pom.xml"), "package", "-DskipTests"],
        "building the connector plugin",
    )
    stamp.touch()
    return plugin_dir


def debian_binary(binary: str, package: str) -> str:
    """Path of a binary from a Debian package, installing the package if needed (needs root)."""
    found = shutil.which(binary)
    if found:
        return found
    if os.geteuid() != 0:
        raise InstallError(f"{binary} is missing: run `sudo apt-get install -y {package}`")
    click.echo(f"  installing {package} from Debian's packages …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise InstallError(f"{' '.join(argv)} failed:\n{result.stderr[-2000:]}")
    found = shutil.which(binary)
    if not found:
        raise InstallError(f"{package} installed but {binary} is not on PATH")
    return found
