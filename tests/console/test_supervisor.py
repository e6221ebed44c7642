"""The supervisor behind `make run`, with tiny Python children instead of daphne and Celery.

The supervisor runs in the test's main thread (it owns SIGINT and SIGTERM); a script started once the children
are up does what a person or a crash would (kill a child, press Ctrl-C) and always ends with a signal, so
``run()`` returns and the test asserts on what happened.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from controlplane.console.supervisor import Child, RestartPolicy, Supervisor
from tests.waiting import wait_until

SLEEPER = "import signal\nprint('up', flush=True)\nsignal.pause()"  # lives until signalled
STUBBORN = (
    "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('up', flush=True)\n"
    "signal.pause()"  # SIGTERM is ignored (pause does not return): only SIGKILL ends it
)
CRASHER = "import sys; print('bad config', flush=True); sys.exit(3)"
FAST = RestartPolicy(first_delay=0.05, max_delay=0.2)  # the default's shape, with delays a test can wait out


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


def drive(supervisor: Supervisor, script: Callable[[], None], sig: int = signal.SIGINT) -> int:
    """``supervisor.run()`` while ``script`` runs beside it; then ``sig`` to this process (as Ctrl-C would).
    An assertion that fails in the script fails the test."""
    errors: list[BaseException] = []

    def run_script() -> None:
        try:
            script()
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)
        finally:
            os.kill(os.getpid(), sig)

    supervisor.on_started = lambda: threading.Thread(target=run_script, name="script").start()
    code = supervisor.run()
    if errors:
        raise errors[0]
    return code


def test_the_delay_doubles_from_one_second_up_to_its_cap():
    assert [RestartPolicy().delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_killed_child_is_restarted_with_a_new_pid_and_the_restart_is_told(tmp_path):
    children = [py("web", SLEEPER), py("worker", SLEEPER)]
    web, worker = children
    supervisor, lines = make(children, tmp_path, restart=FAST)
    pids: list[int] = []
    web_pid: list[int] = []

    def kill_the_worker() -> None:
        wait_for_output(lines, "| up", count=2)
        web_pid.append(web.proc.pid)
        pids.append(worker.proc.pid)
        os.kill(pids[0], signal.SIGKILL)
        wait_until(lambda: worker.running and worker.proc.pid != pids[0], timeout=10, message=lambda: "".join(lines))
        pids.append(worker.proc.pid)
        wait_for_output(lines, "worker  | up", count=2)  # the new process got as far as the old one

    assert drive(supervisor, kill_the_worker) == 0
    text = "".join(lines)
    assert re.search(
        r"^control \| worker was killed by SIGKILL after \d+\.\d s; restarting it in 0\.05 s, at \d\d:\d\d:\d\d "
        r"\(attempt 1\)$",
        text,
        re.MULTILINE,
    ), text
    assert f"control | restarted worker (pid {pids[1]}), attempt 1\n" in text
    assert web.proc.pid == web_pid[0]  # the others were left alone
    assert "web was killed by SIGTERM" in text and "worker was killed by SIGTERM" in text
    assert all(gone(pid) for pid in [*pids, web.proc.pid])


def test_a_child_that_keeps_dying_at_once_is_given_up_and_everything_stops(tmp_path):
    children = [py("web", SLEEPER), py("worker", CRASHER)]
    policy = RestartPolicy(first_delay=0.05, max_delay=0.1, quick=10, max_quick_deaths=4)
    supervisor, lines = make(children, tmp_path, restart=policy)
    assert supervisor.run() == 1  # no signal: the supervisor ends on its own
    text = "".join(lines)
    assert text.count("worker  | bad config") == 4
    restarts = re.findall(
        r"worker exited with code 3 after [\d.]+ s; restarting it in ([\d.]+) s, .*\(attempt (\d)\)", text
    )
    assert restarts == [("0.05", "1"), ("0.1", "2"), ("0.1", "3")]  # doubled, then capped
    assert re.search(
        r"^control \| worker exited with code 3 after [\d.]+ s: 4 deaths in a row, each within 10 s of its start; "
        r"giving up \(its output above says why\): stopping everything$",
        text,
        re.MULTILINE,
    ), text
    assert supervisor.gave_up is children[1]
    assert "control | web was killed by SIGTERM" in text
    assert all(gone(c.proc.pid) for c in children)


def test_a_child_that_dies_after_a_while_is_restarted_at_the_cap_without_giving_up(tmp_path):
    # quick=0: no death counts as quick, as for a child that works for a while between crashes.
    child = py("worker", CRASHER)
    supervisor, lines = make([child], tmp_path, restart=RestartPolicy(first_delay=0.05, max_delay=0.1, quick=0))
    code = drive(supervisor, lambda: wait_for_output(lines, "(attempt 6)"))
    assert code == 0
    delays = re.findall(r"restarting it in ([\d.]+) s", "".join(lines))
    assert delays[:6] == ["0.05", "0.1", "0.1", "0.1", "0.1", "0.1"]
    assert supervisor.gave_up is None


def test_a_run_that_lasted_sets_the_delay_back_to_the_first_and_only_quick_deaths_in_a_row_count():
    # The rule alone (the processes' timing is the machine's): deaths after 1 s, 1 s, 61 s, 12 s, 1 s.
    policy = RestartPolicy()  # stable after 60 s, quick within 10 s
    counts, state = [], (0, 0)
    for up in (1, 1, 61, 12, 1):
        state = policy.count_death(up, *state)
        counts.append(state)
    assert counts == [(1, 1), (2, 2), (1, 0), (2, 0), (3, 1)]
    assert [policy.delay(deaths) for deaths, _ in counts] == [1, 2, 1, 2, 4]


def test_ctrl_c_while_a_child_waits_to_restart_stops_the_rest_and_succeeds(tmp_path):
    children = [py("web", SLEEPER), py("worker", CRASHER)]
    supervisor, lines = make(children, tmp_path, restart=RestartPolicy(first_delay=3600, max_delay=3600))
    assert drive(supervisor, lambda: wait_for_output(lines, "restarting it in 3600 s")) == 0
    text = "".join(lines)
    assert "control | SIGINT received; stopping" in text
    assert "control | worker was waiting to be restarted" in text
    assert "control | web was killed by SIGTERM" in text
    assert all(gone(c.proc.pid) for c in children)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_every_child_and_succeeds(tmp_path, sig):
    children = [py("web", SLEEPER), py("beat", SLEEPER)]
    supervisor, lines = make(children, tmp_path)
    previous = signal.getsignal(sig)
    assert drive(supervisor, lambda: wait_for_output(lines, "| up", count=2), sig) == 0
    assert signal.getsignal(sig) is previous  # handlers restored
    text = "".join(lines)
    assert f"control | {signal.Signals(sig).name} received; stopping" in text
    assert all(line.split(" | ", 1)[0] in ("web    ", "beat   ", "control") for line in lines)
    assert all(gone(c.proc.pid) for c in children)
    assert "restart" not in text


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path):
    children = [py("stubborn", STUBBORN)]
    supervisor, lines = make(children, tmp_path, grace=1.0)
    assert drive(supervisor, lambda: wait_for_output(lines, "| up")) == 1  # stopped, but not cleanly
    assert "children still running; killing them" in "".join(lines)
    assert children[0].proc.returncode == -signal.SIGKILL


def test_children_are_in_their_own_process_groups(tmp_path):
    children = [py("web", "import os, signal; print(os.getpgid(0), os.getsid(0), flush=True); signal.pause()")]
    supervisor, lines = make(children, tmp_path)
    drive(supervisor, lambda: wait_until(lambda: any(line.startswith("web ") for line in lines)))
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


def test_a_child_gets_its_own_environment_on_top_of_the_supervisors(tmp_path):
    code = "import os, signal\nprint(os.environ['ONLY_WEB'], flush=True)\nsignal.pause()"
    child = Child("web", [sys.executable, "-c", code], env={"ONLY_WEB": "yes"})
    supervisor, lines = make([child], tmp_path)
    assert drive(supervisor, lambda: wait_for_output(lines, "web     | yes")) == 0
