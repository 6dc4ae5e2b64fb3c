"""Compile the failure model's hot path with mypyc: `python -m streams.model.build`.

Run by `make install` (whenever a compiled module's source changed) and by the image's build stage, from
the project's root. It removes the previous build's extensions first, so a failed build leaves only the
Python source; the manifest of compiled sources is written last, after every extension is in place.
`FLEETPULSE_MODEL_PURE=1` skips compiling (and the package then imports the sources). mypy's cache and
the generated C live in build/ (git-ignored): a warm rebuild re-checks only what changed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from streams.model import native

ROOT = native.HERE.parents[1]
BUILD_DIR = Path("build") / "mypyc"  # relative to ROOT, like the paths mypyc is given


def main() -> int:
    if os.environ.get(native.PURE_ENV) == "1":
        print(f"{native.PURE_ENV}=1: the failure model is not compiled (its Python source runs)")
        return 0
    # Imported here: only a build needs them (the compile dependency group), never the runtime.
    from mypyc.build import mypycify
    from setuptools import Distribution

    started = time.perf_counter()
    os.chdir(ROOT)  # mypy names modules by their path from here (streams/model/x.py -> streams.model.x)
    hashes = native.source_hashes()  # what is compiled: read before the build, so an edit during it counts
    for path in native.artefacts():
        path.unlink()
    paths = [f"streams/model/{name}.py" for name in native.COMPILED]
    options = ["--config-file=pyproject.toml", f"--cache-dir={BUILD_DIR / 'mypy-cache'}"]  # [tool.mypy]
    extensions = mypycify([*options, *paths], group_name=native.GROUP, target_dir=str(BUILD_DIR / "c"))
    distribution = Distribution({"name": "fleetpulse-model", "ext_modules": extensions})
    command = distribution.get_command_obj("build_ext")
    command.inplace = True
    command.build_temp = str(BUILD_DIR / "temp")
    command.parallel = os.cpu_count() or 1
    distribution.run_command("build_ext")
    native.MANIFEST.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
    reasons = native.stale()
    if reasons:  # the build must leave what choose() accepts
        print(f"the build left unusable extensions: {'; '.join(reasons)}", file=sys.stderr)
        return 1
    print(f"compiled {len(native.COMPILED)} modules of streams/model in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
