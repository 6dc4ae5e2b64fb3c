"""Where the real worker's time goes at one reading per message: a sampling profiler inside a real
`fleetpulse worker` process consuming pre-produced readings from the local Kafka, and its CPU time per
reading (the figure to compare between changes on a shared machine: wall-clock rates move with the load).

cProfile was tried first and misleads here: its per-call cost inflates Faust's many small calls (it put a
fifth of the time in the fetch loop's per-message `wait_first`; removing that changed nothing measurable).
Sampling starts from a task on the worker's event loop once the first readings are applied, so start-up
and recovery are not in the figures. Usage: `python -m bench.worker_profile [model|baseline] [readings per
message, default 1: batch envelopes of that many]`; needs the stack up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import FrameType

from bench.streams_bench import SECONDS, _env, _preproduce, _preproduce_envelopes, _settings
from core.topics import create_topics

ROOT = Path(__file__).resolve().parents[1]


def _cpu_seconds() -> float:
    """This process's user + system CPU time: unlike wall time, barely moved by other load on the machine."""
    times = os.times()
    return times.user + times.system


class Sampler:
    """A statistical profiler: every `interval` of this process's CPU time, the main thread's stack is
    counted (self = the innermost frame, total = every frame on it). Unlike cProfile, it adds nothing per
    call, so code made of many small calls (Faust's per-message path) is not over-weighted."""

    def __init__(self, interval: float = 0.001) -> None:
        self.interval, self.samples = interval, 0
        self.own: Counter[str] = Counter()
        self.total: Counter[str] = Counter()

    def start(self) -> None:
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)

    def stop(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)

    def _sample(self, _signum: int, frame: FrameType | None) -> None:
        self.samples += 1
        seen: set[str] = set()
        inner = True
        while frame is not None:
            code = frame.f_code
            name = f"{code.co_filename.split('site-packages/')[-1].replace(str(ROOT) + '/', '')}:{code.co_name}"
            if inner:
                self.own[name] += 1
                inner = False
            if name not in seen:
                self.total[name] += 1
                seen.add(name)
            frame = frame.f_back

    def report(self, top: int = 45) -> str:
        def table(counts: Counter[str]) -> list[str]:
            return [f"{100 * n / self.samples:6.1f}%  {name}" for name, n in counts.most_common(top)]

        return "\n".join(["inclusive (on the stack):", *table(self.total), "", "self (innermost):", *table(self.own)])


def child_main(out: str) -> None:
    """Run the worker; sample SECONDS of steady consumption, write the report to `out`, exit."""
    import asyncio

    import streams.worker  # noqa: F401  (registers the agents, timers and views)
    from streams import metrics
    from streams.app import app

    @app.task
    async def profile_steady_state() -> None:
        while metrics.readings_applied._value.get() == 0:  # noqa: ASYNC110 (a Prometheus counter, no event)
            await asyncio.sleep(0.05)
        sampler, began, cpu, wall = Sampler(), metrics.readings_applied._value.get(), _cpu_seconds(), time.time()
        sampler.start()
        await asyncio.sleep(SECONDS)
        sampler.stop()
        applied = metrics.readings_applied._value.get() - began
        cpu, wall = _cpu_seconds() - cpu, time.time() - wall
        head = (
            f"PROFILED {applied:,.0f} readings in {wall:.1f}s = {applied / wall:,.0f}/s; "
            f"{1e6 * cpu / max(applied, 1):.0f} us CPU per reading (all threads), CPU use {cpu / wall:.2f}\n"
        )
        Path(out).write_text(head + sampler.report())  # noqa: ASYNC240 (Faust redirects stdout; exiting next)
        os._exit(0)

    sys.argv = ["fleetpulse-worker", "worker", "--loglevel", "warn"]
    app.main()


def main(scorer: str = "model", per_message: int = 1) -> None:
    settings = _settings("benchprof").model_copy(update={"worker_scorer": scorer})
    create_topics(settings)
    total = _preproduce(settings) if per_message == 1 else _preproduce_envelopes(settings, per_message)
    print(f"pre-produced {total:,} readings, {per_message} per message; profiling the {scorer} worker ({SECONDS:.0f}s)")
    out = f"/tmp/{settings.worker_app_id}.profile.txt"
    done = subprocess.run(
        [sys.executable, "-m", "bench.worker_profile", "child", out],
        env=_env(settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SECONDS + 120,
    )
    report = Path(out)
    if not report.exists():
        raise RuntimeError(f"the profiled worker failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    print(report.read_text())


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "child":
        child_main(sys.argv[2])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "model", int(sys.argv[2]) if len(sys.argv) > 2 else 1)
