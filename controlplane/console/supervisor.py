"""A small foreground process supervisor for the embedded default (``make run``).

It starts each child in its own process group, prefixes and forwards the children's output, and:

- on SIGINT or SIGTERM sends SIGTERM to every child's group, waits up to ``grace`` seconds, kills what is
  left and returns 0 (a second signal kills at once);
- when a child exits on its own, stops the others the same way and returns 1.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

Write = Callable[[str], None]


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    proc: subprocess.Popen | None = None
    reader: threading.Thread | None = field(default=None, repr=False)


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
        on_started: Callable[[], None] | None = None,
    ) -> None:
        self.children = list(children)
        self.env = env
        self.cwd = cwd
        self._write = write
        self.grace = grace
        self.on_started = on_started
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._signals: list[int] = []
        self._width = max(len(c.name) for c in [*self.children, Child("control", ())])

    # --- output -----------------------------------------------------------------------------------
    def say(self, name: str, line: str) -> None:
        with self._lock:
            self._write(f"{name:<{self._width}} | {line.rstrip()}\n")

    def _forward(self, child: Child, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(child.name, raw.decode("utf-8", errors="replace"))
        stream.close()

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
            try:
                self._start(child)
            except OSError as exc:  # e.g. the executable is missing: stop what already runs
                self.say("control", f"cannot start {child.name}: {exc}; stopping")
                self._stop()
                return 1
        if not self._signals and self.on_started is not None:
            self.on_started()
        failed: Child | None = None
        while not self._signals:
            failed = next((c for c in self.children if c.proc is not None and c.proc.poll() is not None), None)
            if failed is not None:
                break
            self._wake.wait(0.5)
        if failed is not None:
            self.say("control", f"{failed.name} exited unexpectedly (code {failed.proc.returncode}); stopping")
            self._stop()
            return 1
        self.say("control", f"{signal.Signals(self._signals[0]).name} received; stopping")
        return 0 if self._stop() else 1

    def _start(self, child: Child) -> None:
        child.proc = subprocess.Popen(  # noqa: S603  (argv built by the caller, no shell)
            list(child.argv),
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # the reader threads start only after the fork
        )
        child.reader = threading.Thread(
            target=self._forward, args=(child, child.proc.stdout), name=f"forward-{child.name}", daemon=True
        )
        child.reader.start()
        self.say("control", f"started {child.name} (pid {child.proc.pid}): {shlex.join(child.argv)}")

    def _signal_all(self, sig: int) -> None:
        for child in self.children:
            if child.proc is not None and child.proc.poll() is None:
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
        while any(c.proc is not None and c.proc.poll() is None for c in self.children):
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
            # Anything the child left in its group (it should leave nothing) goes too.
            try:
                os.killpg(child.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if child.reader is not None:
                child.reader.join(timeout=5)
            self.say("control", f"{child.name} exited with code {child.proc.returncode}")
        return clean
