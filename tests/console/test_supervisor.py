"""The supervisor behind `make run`, with tiny Python children instead of daphne and Celery."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from controlplane.console.supervisor import Child, Supervisor
from tests.waiting import wait_until

SLEEPER = "import signal\nprint('up', flush=True)\nsignal.pause()"  # lives until signalled
STUBBORN = (
    "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('up', flush=True)\n"
    "signal.pause()"  # SIGTERM is ignored (pause does not return): only SIGKILL ends it
)


def py(name: str, code: str) -> Child:
    return Child(name, [sys.executable, "-c", code])


def make(children: list[Child], tmp_path: Path, **kwargs) -> tuple[Supervisor, list[str]]:
    lines: list[str] = []
    supervisor = Supervisor(children, env=dict(os.environ), cwd=tmp_path, write=lines.append, **kwargs)
    return supervisor, lines


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_for_output(lines: list[str], text: str, count: int = 1, timeout: float = 10) -> None:
    wait_until(
        lambda: sum(text in line for line in lines) >= count,
        timeout=timeout,
        message=lambda: f"{count} x {text!r} in {lines}",
    )


def test_a_child_that_dies_stops_the_others_and_fails(tmp_path):
    children = [py("web", SLEEPER), py("worker", "import sys; print('bye', flush=True); sys.exit(3)")]
    supervisor, lines = make(children, tmp_path)
    started = time.monotonic()
    assert supervisor.run() == 1
    assert time.monotonic() - started < 10
    text = "".join(lines)
    assert "worker  | bye" in text
    assert "worker exited unexpectedly (code 3); stopping" in text
    assert all(gone(c.proc.pid) for c in children)
    assert children[0].proc.returncode == -signal.SIGTERM


def test_sigterm_stops_every_child_and_succeeds(tmp_path):
    children = [py("web", SLEEPER), py("beat", SLEEPER)]

    def stop_when_up() -> None:
        wait_for_output(lines, "| up", count=2)
        os.kill(os.getpid(), signal.SIGTERM)

    supervisor, lines = make(children, tmp_path)
    supervisor.on_started = lambda: __import__("threading").Thread(target=stop_when_up).start()
    previous = signal.getsignal(signal.SIGTERM)
    assert supervisor.run() == 0
    assert signal.getsignal(signal.SIGTERM) is previous  # handlers restored
    text = "".join(lines)
    assert "control | SIGTERM received; stopping" in text
    assert all(line.split(" | ", 1)[0] in ("web    ", "beat   ", "control") for line in lines)
    assert all(gone(c.proc.pid) for c in children)


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path):
    children = [py("stubborn", STUBBORN)]

    def stop_when_up() -> None:
        wait_for_output(lines, "| up")
        os.kill(os.getpid(), signal.SIGINT)

    supervisor, lines = make(children, tmp_path, grace=1.0)
    supervisor.on_started = lambda: __import__("threading").Thread(target=stop_when_up).start()
    started = time.monotonic()
    assert supervisor.run() == 1  # stopped, but not cleanly
    assert time.monotonic() - started < 8
    assert "children still running; killing them" in "".join(lines)
    assert children[0].proc.returncode == -signal.SIGKILL


def test_children_are_in_their_own_process_groups(tmp_path):
    children = [py("web", "import os; print(os.getpgid(0), os.getsid(0), flush=True)")]
    supervisor, lines = make(children, tmp_path)
    supervisor.run()
    pgid, sid = map(int, next(line for line in lines if line.startswith("web ")).split("|")[1].split())
    assert pgid == children[0].proc.pid and sid == children[0].proc.pid
    assert pgid != os.getpgid(0)


def test_a_child_that_cannot_start_stops_those_already_running(tmp_path):
    children = [py("web", SLEEPER), Child("worker", [str(tmp_path / "no-such-program")])]
    supervisor, lines = make(children, tmp_path)
    assert supervisor.run() == 1
    assert "cannot start worker" in "".join(lines)
    assert children[1].proc is None
    assert gone(children[0].proc.pid)
