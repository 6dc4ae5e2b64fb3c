"""Compile the worker's hot path with mypyc: `python -m streams.model.build`.

Two groups (streams/native.py): the stream processor's per-reading modules, then the failure model's. Run by
`make install` (whenever a source in streams/ or streams/model/ changed) and by the image's build stage, from
the project's root. Per group it removes the previous build's extensions first, so a failed build leaves only
the Python source; the group's manifest of compiled sources is written last, after every extension is in
place, and the model's (Make's target) after the processor's. `FLEETPULSE_MODEL_PURE=1` skips compiling (and
the packages then import the sources). mypy's cache and the generated C live in build/ (git-ignored): a warm
rebuild re-checks only what changed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from streams import native as groups
from streams.model import native

ROOT = native.HERE.parents[1]
BUILD_DIR = Path("build") / "mypyc"  # relative to ROOT, like the paths mypyc is given
GROUPS = (groups.PROCESSOR, native.MODEL)  # the model's manifest, Make's target, is written last


def build(group: groups.Group) -> list[str]:
    """Compile one group in place; why its extensions are unusable afterwards (empty: they are fine)."""
    # Imported here: only a build needs them (the compile dependency group), never the runtime.
    from mypyc.build import mypycify
    from setuptools import Distribution

    hashes = group.source_hashes()  # what is compiled: read before the build, so an edit during it counts
    for path in group.artefacts():
        path.unlink()
    source_dir = group.directory.relative_to(ROOT)
    paths = [str(source_dir / f"{name}.py") for name in group.compiled]
    options = ["--config-file=pyproject.toml", f"--cache-dir={BUILD_DIR / 'mypy-cache'}"]  # [tool.mypy]
    target = BUILD_DIR / "c" / group.package.replace(".", "-")  # each group's C apart: both have a compiled__mypyc
    extensions = mypycify([*options, *paths], group_name=group.group, target_dir=str(target))
    distribution = Distribution({"name": f"fleetpulse-{group.package}", "ext_modules": extensions})
    command = distribution.get_command_obj("build_ext")
    command.inplace = True
    command.build_temp = str(BUILD_DIR / "temp")
    command.parallel = os.cpu_count() or 1
    distribution.run_command("build_ext")
    group.manifest.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
    return group.stale()


def main() -> int:
    if os.environ.get(native.PURE_ENV) == "1":
        print(f"{native.PURE_ENV}=1: the worker's hot path is not compiled (its Python source runs)")
        return 0
    os.chdir(ROOT)  # mypy names modules by their path from here (streams/model/x.py -> streams.model.x)
    for group in GROUPS:
        started = time.perf_counter()
        reasons = build(group)
        if reasons:  # the build must leave what choose() accepts
            print(f"the build left unusable extensions of {group.package}: {'; '.join(reasons)}", file=sys.stderr)
            return 1
        seconds = time.perf_counter() - started
        print(f"compiled {len(group.compiled)} modules of {group.package} ({group.what}) in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
