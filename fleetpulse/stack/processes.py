"""Start detached server processes, remember their pids, and stop exactly those processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


class ProcessTable:
    """Pid files under <stack_dir>/pids, logs under <stack_dir>/logs."""

    def __init__(self, stack_dir: Path) -> None:
        self.pid_dir = stack_dir / "pids"
        self.log_dir = stack_dir / "logs"

    def names(self) -> list[str]:
        """Every process with a pid file, running or not."""
        return sorted(path.stem for path in self.pid_dir.glob("*.pid"))

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def pid(self, name: str) -> int | None:
        """The pid of a process we started and that still runs, else None (stale files are removed)."""
        path = self.pid_dir / f"{name}.pid"
        if not path.exists():
            return None
        pid_text, _, started = path.read_text().partition("\n")
        pid = int(pid_text)
        if _start_time(pid) != started.strip():
            path.unlink(missing_ok=True)  # exited, or the pid now belongs to someone else
            return None
        return pid

    def start(
        self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> int:
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path(name).open("ab") as log:
            process = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,  # survives the CLI that started it; stopped as a group
            )
        # The start time lets pid() tell our process from an unrelated one that reused the pid.
        (self.pid_dir / f"{name}.pid").write_text(f"{process.pid}\n{_start_time(process.pid)}\n")
        return process.pid

    def stop(self, name: str, timeout: float = 30.0) -> bool:
        """SIGTERM the process group, SIGKILL it after `timeout`. True if something was stopped."""
        pid = self.pid(name)
        if pid is None:
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _start_time(pid) is not None:
            time.sleep(0.2)
        if _start_time(pid) is not None:
            _signal_group(pid, signal.SIGKILL)
            while _start_time(pid) is not None:
                time.sleep(0.1)
        (self.pid_dir / f"{name}.pid").unlink(missing_ok=True)
        return True

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.log_path(name)
        if not path.exists():
            return f"(no log at {path})"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None if it has exited (zombies included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
