"""Start the emulator as a child process (for tests and demos) and stop it again."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class RunningEmulator:
    url: str  # http://127.0.0.1:<port>, without the context path
    port: int
    process: subprocess.Popen[str]


@contextmanager
def emulator_process(*args: str, startup_timeout: float = 15.0) -> Iterator[RunningEmulator]:
    """Run `python -m controlplane.seatunnel.emulator --port 0 <args>`; yield once it answers HTTP."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", "controlplane.seatunnel.emulator", "--port", "0", *args],
        cwd=_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "... listening on http://127.0.0.1:<port>[/ctx]"
        if "listening on http://" not in line:
            stderr = process.stderr.read() if process.stderr else ""
            raise RuntimeError(f"emulator did not start: {line!r} {stderr}")
        address = line.rsplit("http://", 1)[1].strip()
        host_port = address.split("/", 1)[0]
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
        yield RunningEmulator(url=url, port=int(host_port.rsplit(":", 1)[1]), process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
