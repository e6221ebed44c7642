"""A small foreground process supervisor for the embedded default (``make run``).

It starts each child in its own process group, prefixes and forwards the children's output, and:

- restarts a child that dies on its own, after a delay that doubles with each death in a row (1 s, 2 s,
  4 s ... up to ``max_delay``) and goes back to the first after the child stayed up ``stable_after``; each
  death is told in one line (which child, how it ended, the attempt, when it restarts);
- gives up on a child that is crash-looping (``max_quick_deaths`` deaths in a row, each within ``quick``
  seconds of its start): stops the others and returns 1 (docs/adr/0023-make-run-restarts-children.md);
- on SIGINT or SIGTERM sends SIGTERM to every child's group, waits up to ``grace`` seconds, kills what is
  left and returns 0, or 1 if a child had to be killed (a second signal kills at once).

Children are in their own groups so that Ctrl-C in the terminal reaches only the supervisor, which then
stops each child exactly once (Celery's worker turns a second SIGINT into a cold shutdown). On Linux each
child also gets SIGTERM when the supervisor dies without cleaning up (PR_SET_PDEATHSIG), so no orphans.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

Write = Callable[[str], None]


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 1.0  # before the first restart; doubles with each death in a row
    max_delay: float = 30.0
    stable_after: float = 60.0  # a run this long sets the delay back to first_delay
    quick: float = 10.0  # a death this soon after the start counts towards giving up
    max_quick_deaths: int = 5  # in a row: the child is crash-looping, restarting will not fix it

    def delay(self, deaths_in_a_row: int) -> float:
        return min(self.first_delay * 2 ** (deaths_in_a_row - 1), self.max_delay)

    def count_death(self, up: float, deaths_in_a_row: int, quick_deaths: int) -> tuple[int, int]:
        """A child's (deaths in a row, quick deaths in a row) once it died ``up`` seconds after its start."""
        return (
            1 if up >= self.stable_after else deaths_in_a_row + 1,
            quick_deaths + 1 if up < self.quick else 0,
        )


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)  # on top of the supervisor's environment
    proc: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = field(default=None, repr=False)
    started_at: float = 0.0  # time.monotonic() of the current process's start
    deaths_in_a_row: int = 0  # since the last run that lasted stable_after: sets the delay
    quick_deaths: int = 0  # in a row
    restart_at: float | None = None  # set while the child waits to be restarted

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Supervisor:
    def __init__(
        self,
        children: Sequence[Child],
        *,
        env: dict[str, str],
        cwd: Path,
        write: Write,
        grace: float = 20.0,
        restart: RestartPolicy | None = None,
        on_started: Callable[[], None] | None = None,
    ) -> None:
        self.children = list(children)
        self.env = env
        self.cwd = cwd
        self._write = write
        self.grace = grace
        self.restart = restart or RestartPolicy()
        self.on_started = on_started
        self.gave_up: Child | None = None  # the child that could not start or kept dying: why run() returned 1
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._signals: list[int] = []
        self._width = max(len(c.name) for c in [*self.children, Child("control", ())])

    # --- output -----------------------------------------------------------------------------------
    def say(self, name: str, line: str) -> None:
        with self._lock:
            self._write(f"{name:<{self._width}} | {line.rstrip()}\n")

    def say_block(self, lines: Sequence[str]) -> None:
        """Lines without a prefix, written together (no child's line lands in the middle)."""
        with self._lock:
            self._write("".join(f"{line.rstrip()}\n" for line in lines))

    def _forward(self, child: Child, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(child.name, raw.decode("utf-8", errors="replace"))
        stream.close()
        self._wake.set()  # the child has most likely exited: look now rather than at the next tick

    # --- signals ----------------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: object) -> None:
        self._signals.append(signum)
        self._wake.set()

    # --- lifecycle --------------------------------------------------------------------------------
    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            return self._run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run(self) -> int:
        for child in self.children:
            if self._signals:
                break
            if not self._start(child):
                self.gave_up = child
                self._stop()
                return 1
        if not self._signals and self.on_started is not None:
            self.on_started()
        while True:
            self._wake.clear()  # before looking, so a signal or an exit from now on ends the wait below
            if self._signals:
                break
            now = time.monotonic()
            for child in self.children:
                if child.restart_at is not None:
                    if now >= child.restart_at and not self._start(child):
                        self.gave_up = child
                elif not child.running and not self._schedule_restart(child, now):
                    self.gave_up = child
                if self.gave_up is not None:
                    self._stop()
                    return 1
            waits = [c.restart_at - now for c in self.children if c.restart_at is not None]
            self._wake.wait(max(0.0, min([0.5, *waits])))
        self.say("control", f"{signal.Signals(self._signals[0]).name} received; stopping")
        return 0 if self._stop() else 1

    def _start(self, child: Child) -> bool:
        restarting = child.proc is not None
        try:
            child.proc = subprocess.Popen(  # noqa: S603  (argv built by the caller, no shell)
                list(child.argv),
                cwd=self.cwd,
                env={**self.env, **child.env},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # the reader threads start only after the fork
            )
        except OSError as exc:  # e.g. the executable is missing: restarting would not help
            self.say("control", f"cannot start {child.name}: {exc}; stopping")
            child.restart_at = None
            return False
        child.started_at = time.monotonic()
        child.restart_at = None
        child.reader = threading.Thread(
            target=self._forward, args=(child, child.proc.stdout), name=f"forward-{child.name}", daemon=True
        )
        child.reader.start()
        if restarting:
            self.say("control", f"restarted {child.name} (pid {child.proc.pid}), attempt {child.deaths_in_a_row}")
        else:
            self.say("control", f"started {child.name} (pid {child.proc.pid}): {shlex.join(child.argv)}")
        return True

    def _schedule_restart(self, child: Child, now: float) -> bool:
        """Tell how the child ended and set when it restarts; False when it is crash-looping (give up)."""
        assert child.proc is not None and child.proc.returncode is not None
        self._clean_up(child)  # its last lines before the line that says it died
        up = now - child.started_at
        policy = self.restart
        child.deaths_in_a_row, child.quick_deaths = policy.count_death(up, child.deaths_in_a_row, child.quick_deaths)
        ended = f"{child.name} {describe_exit(child.proc.returncode)} after {_duration(up)}"
        if child.quick_deaths >= policy.max_quick_deaths:
            self.say(
                "control",
                f"{ended}: {child.quick_deaths} deaths in a row, each within {policy.quick:g} s of its start; "
                "giving up (its output above says why): stopping everything",
            )
            return False
        delay = policy.delay(child.deaths_in_a_row)
        child.restart_at = now + delay
        at = time.strftime("%H:%M:%S", time.localtime(time.time() + delay))
        self.say("control", f"{ended}; restarting it in {delay:g} s, at {at} (attempt {child.deaths_in_a_row})")
        return True

    def _clean_up(self, child: Child) -> None:
        """After the child exited: anything it left in its group (it should leave nothing) goes too, and its
        output is forwarded to the end."""
        assert child.proc is not None
        try:
            os.killpg(child.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if child.reader is not None:
            child.reader.join(timeout=5)

    def _signal_all(self, sig: int) -> None:
        for child in self.children:
            if child.running:
                assert child.proc is not None
                try:
                    os.killpg(child.proc.pid, sig)
                except ProcessLookupError:
                    pass

    def _stop(self) -> bool:
        """SIGTERM every child; True when all exited within the grace period (else they were killed)."""
        seen = len(self._signals)
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        clean = True
        while any(c.running for c in self.children):
            if time.monotonic() > deadline or len(self._signals) > seen:
                self.say("control", "children still running; killing them")
                self._signal_all(signal.SIGKILL)
                clean = False
                seen = len(self._signals)
                deadline = float("inf")
            self._wake.clear()
            self._wake.wait(0.1)
        for child in self.children:
            if child.proc is None:
                continue
            if child.restart_at is not None:  # cleaned up when it died
                self.say("control", f"{child.name} was waiting to be restarted")
                continue
            self._clean_up(child)
            self.say("control", f"{child.name} {describe_exit(child.proc.returncode)}")
        return clean
