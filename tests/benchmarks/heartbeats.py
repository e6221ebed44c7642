"""Heartbeats the control plane absorbs from simulated agents (``make bench``, after the event log).

``python -m tests.benchmarks.heartbeats --postgres postgres://… --report var/bench/latest.json`` creates a
``bench_heartbeats`` database on that server, migrates it, registers ``--agents`` agents (default 2,000)
through the real registration code, starts one real daphne process on it, and plays the agents from this
process (asyncio with a minimal HTTP/1.1 client). Each agent keeps a long poll open, as real agents do, so
the server carries those connections while it absorbs heartbeats, and posts a heartbeat every
``--interval`` seconds (default 10) at a random phase, for ``--seconds`` (default 60). That is the target
load: 2,000 agents at 10 s = 200 heartbeats/s, p99 under 100 ms. A second phase sends heartbeats back to
back from ``--concurrency`` senders for 15 s: the most this one process absorbs. Latency is measured by the
sender (request to answer). Correctness: every heartbeat answered 200, the liveness rows count exactly the
heartbeats sent, and no event was written. The figures go into the report's ``heartbeats`` entry. The load
generator shares the machine's cores with daphne and PostgreSQL: the figures are a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.waiting import wait_until, wait_until_async

ROOT = Path(__file__).resolve().parents[2]
POLL_WAIT = 25  # the protocol's longest wait, what the agent asks for


def setup(count: int) -> dict[str, Any]:
    """In a child process on the benchmark database: a tenant, a workspace and ``count`` registered agents."""
    import django

    django.setup()
    from controlplane.agents import actions
    from controlplane.agents.domain.catalog import ACTION_TYPES
    from controlplane.eventlog.metadata import Metadata
    from controlplane.tenancy import actions as tenancy

    boot = Metadata.for_system(None, reason="bench")
    tenant_id = tenancy.do_create_tenant(metadata=boot, name="Bench", slug="bench")
    workspace_id = tenancy.do_create_workspace(metadata=boot, tenant_id=tenant_id, name="Fleet", slug="fleet")
    meta = Metadata.for_system(tenant_id, workspace_id=workspace_id, reason="bench")
    credentials = []
    started = time.perf_counter()
    for n in range(count):
        _, token = actions.do_issue_bootstrap_token(metadata=meta, tenant_id=tenant_id, workspace_id=workspace_id)
        done = actions.do_register_agent(
            bootstrap_token=token,
            hostname=f"node-{n:05d}",
            agent_version="bench",
            member_address=f"10.{n // 65536}.{n // 256 % 256}.{n % 256}:5801",
            allowlist=sorted(ACTION_TYPES),
            facts={},
        )
        credentials.append(done.credential)
    return {"credentials": credentials, "register_s": round(time.perf_counter() - started, 2)}


def check(expected: int) -> dict[str, Any]:
    """In a child process: what the database holds after the run."""
    import django

    django.setup()
    from django.db.models import Sum

    from controlplane.agents.models import AgentLiveness
    from controlplane.eventlog.models import Event

    return {
        "heartbeats_recorded": AgentLiveness.unscoped.aggregate(n=Sum("heartbeats"))["n"] or 0,
        "events": Event.objects.count(),
        "expected": expected,
    }


def _facts(n: int) -> dict[str, Any]:
    return {
        "hostname": f"node-{n:05d}",
        "addresses": [f"10.0.{n // 256 % 256}.{n % 256}"],
        "cpu_count": 8,
        "load_1m": round(random.random() * 4, 2),
        "memory_total_bytes": 32 << 30,
        "memory_available_bytes": 20 << 30,
        "disk": {"path": "/opt/seatunnel", "total_bytes": 500 << 30, "free_bytes": 300 << 30},
        "java_version": "17.0.9",
        "seatunnel_version": "2.3.8",
        "seatunnel_home": "/opt/seatunnel",
        "service": {"manager": "systemd", "state": "active"},
    }


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(latencies: list[float], seconds: float, errors: int) -> dict[str, Any]:
    ms = [x * 1000 for x in latencies]
    return {
        "heartbeats": len(latencies),
        "errors": errors,
        "seconds": round(seconds, 2),
        "heartbeats_per_s": round(len(latencies) / seconds, 1) if seconds else None,
        "p50_ms": round(percentile(ms, 0.50) or 0, 2),
        "p95_ms": round(percentile(ms, 0.95) or 0, 2),
        "p99_ms": round(percentile(ms, 0.99) or 0, 2),
        "max_ms": round(max(ms), 2) if ms else None,
    }


class Connection:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams: httpx's pool costs time linear in its open
    connections per request, which with 4,000 of them made the load generator, not the server, the limit."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, credential: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Agent {credential}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        try:
            self.writer.write(head.encode() + body)
            status = int((await self.reader.readline()).split()[1])
            length, close = 0, False
            while (line := await self.reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and value.strip().lower() == "close":
                    close = True
            data = await self.reader.readexactly(length)
        except (OSError, IndexError, ValueError, asyncio.IncompleteReadError):
            self.close()
            raise
        if close:
            self.close()
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def play(
    url: str, credentials: list[str], interval: float, seconds: float, concurrency: int, polls_open: bool = True
) -> dict:
    from urllib.parse import urlsplit

    host, port = urlsplit(url).hostname or "127.0.0.1", urlsplit(url).port or 80
    gc.collect()
    gc.freeze()  # as the server does (controlplane/asgi.py): full collections must not stall the client either
    stop = asyncio.Event()
    polls = {"answered": 0, "errors": 0}
    started_polling = [0]

    async def poller(credential: str) -> None:
        conn = Connection(host, port)
        # Real agents start at unrelated times, so their polls (each follows the last) stay spread over the
        # 25 s wait; starting them all within a few seconds would make them expire in waves.
        await asyncio.sleep(random.random() * POLL_WAIT)
        started_polling[0] += 1  # (counted as its request goes out: the wait before measuring ends on it)
        while not stop.is_set():
            try:
                status, _ = await conn.request("GET", f"/agent/v1/actions/next?wait={POLL_WAIT}", credential)
                polls["answered" if status == 200 else "errors"] += 1
            except (OSError, IndexError, ValueError, asyncio.IncompleteReadError):
                polls["errors"] += 1
                await asyncio.sleep(1)
        conn.close()

    latencies: list[float] = []
    errors = [0]

    async def beat(conn: Connection, n: int, credential: str) -> None:
        body = json.dumps({"sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "facts": _facts(n)}).encode()
        started = time.perf_counter()
        try:
            status, _ = await conn.request("POST", "/agent/v1/heartbeat", credential, body)
            ok = status == 200
        except (OSError, IndexError, ValueError, asyncio.IncompleteReadError):
            ok = False
        if ok:
            latencies.append(time.perf_counter() - started)
        else:
            errors[0] += 1

    async def agent(n: int, credential: str, until: float) -> None:
        conn = Connection(host, port)
        await asyncio.sleep(random.random() * interval)  # a random phase, as real agents have
        next_at = time.monotonic()
        while next_at < until:
            await beat(conn, n, credential)
            next_at += interval
            if next_at < until:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        conn.close()

    lags: list[float] = []

    async def ticker() -> None:
        """How late this process's own loop runs: a late loop inflates every latency measured here."""
        while not stop.is_set():
            at = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - at - 0.01)

    tick = asyncio.create_task(ticker())
    pollers = [asyncio.create_task(poller(c)) for c in credentials] if polls_open else []
    if polls_open:  # every agent has sent its first long poll before measuring
        await wait_until_async(
            lambda: started_polling[0] == len(pollers), timeout=POLL_WAIT + 60, message="every agent polling"
        )
    # Phase 1: the fleet at its interval.
    started = time.monotonic()
    await asyncio.gather(*(agent(n, c, started + seconds) for n, c in enumerate(credentials)))
    fleet = summary(latencies, seconds, errors[0])  # heartbeats sent within the window, over the window
    # Phase 2: back to back from a few senders, the long polls still open.
    latencies.clear()
    errors[0] = 0

    async def sender(k: int) -> None:
        conn = Connection(host, port)
        end = time.monotonic() + 15
        n = k
        while time.monotonic() < end:
            await beat(conn, n % len(credentials), credentials[n % len(credentials)])
            n += concurrency
        conn.close()

    t0 = time.monotonic()
    await asyncio.gather(*(sender(k) for k in range(concurrency)))
    saturation = summary(latencies, time.monotonic() - t0, errors[0])
    stop.set()
    await tick
    lag_ms = [x * 1000 for x in lags]
    for task in pollers:
        task.cancel()
    await asyncio.gather(*pollers, return_exceptions=True)
    client_lag = {"p99_ms": round(percentile(lag_ms, 0.99) or 0, 1), "max_ms": round(max(lag_ms, default=0), 1)}
    return {"fleet": fleet, "saturation": saturation, "long_polls": polls, "client_loop_lag": client_lag}


def _child(mode: str, argument: str, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.heartbeats", f"--{mode}", argument],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} child failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/test", help="server URL")
    parser.add_argument("--db-name", default="bench_heartbeats", help="database created and dropped for the run")
    parser.add_argument("--report", default=str(ROOT / "var" / "bench" / "latest.json"))
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=32, help="senders in the saturation phase")
    parser.add_argument("--port", type=int, default=0, help="daphne's port (default: a free one)")
    parser.add_argument("--no-polls", action="store_true", help="heartbeats only, no long polls open")
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    parser.add_argument("--check", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.setup:
        print(json.dumps(setup(int(args.setup))))
        return 0
    if args.check:
        print(json.dumps(check(int(args.check))))
        return 0

    from tests.benchmarks.scratch import scratch_database, write_report

    extra = {
        "CONTROLPLANE_MASTER_KEYS": f"bench:{base64.b64encode(os.urandom(32)).decode()}",
        "CONTROLPLANE_AGENT_HEARTBEAT_SECONDS": str(int(args.interval)),
    }
    result: dict[str, Any] = {
        "id": "heartbeats",
        "agents": args.agents,
        "interval_s": args.interval,
        "long_polls_open": not args.no_polls,
    }
    try:
        with scratch_database(
            args.postgres, args.db_name, "data-heartbeats", extra_env=extra, unset=("CONTROLPLANE_MASTER_KEY_FILE",)
        ) as (env, data):
            result.update(_measure(args, env, data))
    except Exception as exc:  # the report says what failed rather than nothing
        result.update(error=str(exc)[:2000], correct=False)
    return write_report(args.report, "heartbeats", result)


def _measure(args: argparse.Namespace, env: dict[str, str], data: Path) -> dict[str, Any]:
    import httpx

    from tests.agents.live import free_port

    result: dict[str, Any] = {}
    server = None
    try:
        registered = _child("setup", str(args.agents), env)
        result["register_s"] = registered["register_s"]
        events_before = _child("check", "0", env)["events"]
        port = args.port or free_port()
        log = (data / "daphne.log").open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "controlplane.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(
            healthy, timeout=60, interval=0.2, message=lambda: f"daphne healthy:\n{(data / 'daphne.log').read_text()}"
        )
        measured = asyncio.run(
            play(url, registered["credentials"], args.interval, args.seconds, args.concurrency, not args.no_polls)
        )
        result.update(measured)
        sent = (
            measured["fleet"]["heartbeats"]
            + measured["fleet"]["errors"]
            + measured["saturation"]["heartbeats"]
            + measured["saturation"]["errors"]
        )
        after = _child("check", str(sent), env)
        result["checks"] = {
            "heartbeats_sent": sent,
            "heartbeats_recorded": after["heartbeats_recorded"],
            "events_written_during_run": after["events"] - events_before,
        }
        target = args.agents / args.interval
        result["target"] = {"heartbeats_per_s": target, "p99_ms": 100}
        result["meets_target"] = (
            measured["fleet"]["heartbeats_per_s"] >= 0.95 * target and measured["fleet"]["p99_ms"] < 100
        )
        result["correct"] = (
            measured["fleet"]["errors"] == 0
            and measured["saturation"]["errors"] == 0
            and after["heartbeats_recorded"] == sent
            and after["events"] == events_before
        )
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    return result


if __name__ == "__main__":
    sys.exit(main())
