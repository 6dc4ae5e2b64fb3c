"""Where the real worker's time goes at one reading per message: cProfile inside a real `fleetpulse worker`
process consuming pre-produced readings from the local Kafka.

The profiler is switched on from a task on the worker's event loop (cProfile profiles the thread that enables
it, and Faust runs everything on the main thread) once the first readings are applied, so start-up and
recovery are not in the figures. Usage: `python -m bench.worker_profile [model|baseline]`; needs the stack up.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import subprocess
import sys
from pathlib import Path

from bench.streams_bench import SECONDS, _env, _preproduce, _settings
from core.topics import create_topics

ROOT = Path(__file__).resolve().parents[1]


def child_main(out: str) -> None:
    """Run the worker; profile SECONDS of steady consumption, print the top of the profile, exit."""
    import asyncio

    import streams.worker  # noqa: F401  (registers the agents, timers and views)
    from streams import metrics
    from streams.app import app

    @app.task
    async def profile_steady_state() -> None:
        while metrics.readings_applied._value.get() == 0:  # noqa: ASYNC110 (a Prometheus counter, no event)
            await asyncio.sleep(0.05)
        profiler, began = cProfile.Profile(), metrics.readings_applied._value.get()
        profiler.enable()
        await asyncio.sleep(SECONDS)
        profiler.disable()
        applied = metrics.readings_applied._value.get() - began
        profiler.dump_stats(out)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(60)
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(40)
        head = f"PROFILED {applied} readings in {SECONDS:.0f}s = {applied / SECONDS:,.0f}/s under cProfile\n"
        Path(out + ".txt").write_text(head + text.getvalue())  # noqa: ASYNC240 (Faust redirects stdout; exiting next)
        os._exit(0)

    sys.argv = ["fleetpulse-worker", "worker", "--loglevel", "warn"]
    app.main()


def main(scorer: str = "model") -> None:
    settings = _settings("benchprof").model_copy(update={"worker_scorer": scorer})
    create_topics(settings)
    total = _preproduce(settings)
    print(f"pre-produced {total:,} readings, one per message; profiling the {scorer} worker for {SECONDS:.0f}s")
    out = f"/tmp/{settings.worker_app_id}.prof"
    done = subprocess.run(
        [sys.executable, "-m", "bench.worker_profile", "child", out],
        env=_env(settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SECONDS + 120,
    )
    report = Path(out + ".txt")
    if not report.exists():
        raise RuntimeError(f"the profiled worker failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    print(report.read_text())
    print(f"raw profile: {out} (python -m pstats {out})")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "child":
        child_main(sys.argv[2])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "model")
