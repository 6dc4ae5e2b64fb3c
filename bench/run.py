"""`make bench`: run every benchmark module in bench/ (bench_*.py, *_bench.py), one process each."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    modules = sorted({*HERE.glob("bench_*.py"), *HERE.glob("*_bench.py")})
    failed = []
    for path in modules:
        print(f"== bench.{path.stem}", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{path.stem}"], cwd=HERE.parent).returncode != 0:
            failed.append(path.stem)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
