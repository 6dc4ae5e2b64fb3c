"""Pid bookkeeping of the stack manager, with real child processes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fleetpulse.stack.processes import ProcessTable


def test_start_then_stop_exactly_that_process(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path)
    pid = table.start("sleeper", [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"])
    assert table.pid("sleeper") == pid
    assert table.stop("sleeper", timeout=10)
    assert table.pid("sleeper") is None
    assert not table.stop("sleeper")


def test_a_process_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path)
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    table.start("stubborn", [sys.executable, "-c", code])
    assert table.stop("stubborn", timeout=1)
    assert table.pid("stubborn") is None


def test_a_reused_pid_is_not_ours(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path)
    table.pid_dir.mkdir(parents=True)
    # Our own pid with a different start time: a pid the system handed to someone else.
    (table.pid_dir / "ghost.pid").write_text(f"{os.getpid()}\n1\n")
    assert table.pid("ghost") is None
    assert not (table.pid_dir / "ghost.pid").exists()


def test_tail_reads_the_log(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path)
    table.start("echo", [sys.executable, "-c", "print('hello from the child')"])
    import time

    time.sleep(1)
    assert "hello from the child" in table.tail("echo")


def test_names_lists_every_pid_file(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path)
    table.start("one", [sys.executable, "-c", "import time; time.sleep(30)"])
    table.start("two", [sys.executable, "-c", "import time; time.sleep(30)"])
    assert table.names() == ["one", "two"]
    for name in table.names():
        table.stop(name, timeout=5)
    assert table.names() == []
