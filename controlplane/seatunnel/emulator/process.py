"""Start the emulator as a child process (for tests and demos) and stop it again.

`emulator_process(*args)` runs one emulator for the length of a `with` block. `EmulatorMember` is one member
process of a cluster directory (`--cluster-dir`) that a test can stop (SIGTERM), kill (SIGKILL) and start
again on the same port, as a rolling restart or a crash would.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class RunningEmulator:
    url: str  # http://127.0.0.1:<port>, without the context path
    port: int
    process: subprocess.Popen[str]


def _launch(args: list[str], startup_timeout: float) -> RunningEmulator:
    """Start `python -m controlplane.seatunnel.emulator <args>` and return once it answers HTTP."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", "controlplane.seatunnel.emulator", *args],
        cwd=_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "... listening on http://127.0.0.1:<port>[/ctx][ (cluster ...)]"
        if "listening on http://" not in line:
            stderr = process.stderr.read() if process.stderr else ""
            raise RuntimeError(f"emulator did not start: {line!r} {stderr}")
        address = line.rsplit("http://", 1)[1].strip()
        host_port = address.split("/", 1)[0].split(" ", 1)[0]
        url = f"http://{host_port}"
        deadline = time.monotonic() + startup_timeout
        while True:
            try:
                httpx.get(url + "/", timeout=1.0)  # any HTTP answer (404, 401) means it is serving
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("emulator did not answer in time") from None
                time.sleep(0.05)
    except BaseException:
        _end(process, signal.SIGKILL)
        raise
    return RunningEmulator(url=url, port=int(host_port.rsplit(":", 1)[1]), process=process)


def _end(process: subprocess.Popen[str], how: signal.Signals = signal.SIGTERM) -> int:
    """Send `how` to the process, wait for it (SIGKILL after 5 s) and close its pipes; returns its exit code."""
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    return process.returncode


@contextmanager
def emulator_process(*args: str, startup_timeout: float = 15.0) -> Iterator[RunningEmulator]:
    """Run `python -m controlplane.seatunnel.emulator --port 0 <args>`; yield once it answers HTTP.

    A `--port N` among the args overrides the free port (the last --port wins)."""
    running = _launch(["--port", "0", *args], startup_timeout)
    try:
        yield running
    finally:
        _end(running.process)


class EmulatorMember:
    """One member of an emulated cluster: `python -m controlplane.seatunnel.emulator --cluster-dir DIR`.

    The first start takes `port` (0: a free one); later starts reuse the port it got, so a restarted member
    has the same address and rejoins as itself. Use as a context manager or call start/stop/kill yourself.
    """

    def __init__(
        self,
        cluster_dir: str | Path,
        *,
        role: str = "hybrid",
        port: int = 0,
        args: tuple[str, ...] = (),
        startup_timeout: float = 15.0,
    ) -> None:
        self.cluster_dir = Path(cluster_dir)
        self.role = role
        self.port = port
        self.args = args
        self.startup_timeout = startup_timeout
        self._running: RunningEmulator | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        """The member's address as the cluster lists it (host:port)."""
        return f"127.0.0.1:{self.port}"

    @property
    def process(self) -> subprocess.Popen[str] | None:
        return self._running.process if self._running else None

    @property
    def running(self) -> bool:
        return self._running is not None and self._running.process.poll() is None

    def start(self) -> EmulatorMember:
        if self.running:
            raise RuntimeError(f"member {self.address} is already running")
        args = ["--cluster-dir", str(self.cluster_dir), "--role", self.role, "--port", str(self.port), *self.args]
        self._running = _launch(args, self.startup_timeout)
        self.port = self._running.port
        return self

    def stop(self) -> int:
        """SIGTERM: the member leaves the cluster at once. Returns the exit code."""
        return self._end(signal.SIGTERM)

    def kill(self) -> int:
        """SIGKILL: the member drops out when its heartbeat ages (about 1.5 s)."""
        return self._end(signal.SIGKILL)

    def restart(self) -> EmulatorMember:
        self.stop()
        return self.start()

    def _end(self, how: signal.Signals) -> int:
        if self._running is None:
            raise RuntimeError(f"member {self.address} was never started")
        code = _end(self._running.process, how)
        return code

    def __enter__(self) -> EmulatorMember:
        return self.start() if not self.running else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._running is not None and self._running.process.poll() is None:
            self.stop()
