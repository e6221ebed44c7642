"""`python -m controlplane.seatunnel.emulator --port N ...` (see docs/EMULATOR.md)."""

from __future__ import annotations

import argparse
import signal
import sys

from controlplane.seatunnel.emulator.cluster import ClusterEngine, ClusterMembers, ClusterStore, Heartbeat
from controlplane.seatunnel.emulator.engine import HISTORY_EXPIRE_MINUTES, Engine
from controlplane.seatunnel.emulator.faults import FaultPlan
from controlplane.seatunnel.emulator.members import ROLES, MemberList
from controlplane.seatunnel.emulator.server import EmulatorServer, Settings

DESCRIPTION = """\
A stand-in for an Apache SeaTunnel (Zeta engine) cluster's REST API, for tests and demos.
It is NOT an engine: it runs no connectors and moves no data. Jobs only move through Zeta's
states on a clock, with made-up but plausible metrics and log lines. Versions >= 2.3.9 serve
REST v2; older versions serve only the v1 /hazelcast/rest/maps/* paths. See docs/EMULATOR.md.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m controlplane.seatunnel.emulator", description=DESCRIPTION)
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--version", default="2.3.12", help="SeaTunnel version to pretend to be (default 2.3.12)")
    parser.add_argument("--basic-auth", metavar="USER:PASS", help="require HTTP basic auth with these credentials")
    parser.add_argument("--context-path", default="", help="prefix for the REST v2 paths, e.g. /seatunnel")
    parser.add_argument("--faults", metavar="FILE.json", help="failure injection plan (see docs/EMULATOR.md)")
    parser.add_argument(
        "--members",
        metavar="FILE.json",
        help="the cluster's member list, re-read while running so nodes can join, leave and return "
        '(a JSON list of {"address": "host:port", "role": "master|worker|hybrid", "master": true}; '
        "default: one hybrid master; see docs/EMULATOR.md)",
    )
    parser.add_argument(
        "--cluster-dir",
        metavar="DIR",
        help="run as one member of a cluster: every process given the same DIR shares its jobs and members "
        "(give them all the same --version, --time-scale and --faults; see docs/EMULATOR.md)",
    )
    parser.add_argument(
        "--role",
        choices=ROLES,
        default="hybrid",
        help="this member's role with --cluster-dir: master (coordinates, runs no tasks), worker (runs tasks, "
        "never master) or hybrid (both; default)",
    )
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="multiply every emulated duration by this factor (default 1)"
    )
    parser.add_argument(
        "--history-job-expire-minutes",
        type=float,
        default=HISTORY_EXPIRE_MINUTES,
        help="forget a finished job this many minutes after it ended, as the engine's seatunnel.yaml setting "
        "of that name does (default 1440; fractions allowed)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    auth = None
    if args.basic_auth:
        user, sep, password = args.basic_auth.partition(":")
        if not sep:
            print("--basic-auth needs USER:PASS", file=sys.stderr)
            return 2
        auth = (user, password)
    context_path = args.context_path.rstrip("/")
    if context_path and not context_path.startswith("/"):
        context_path = "/" + context_path
    if args.cluster_dir and args.members:
        print("--members and --cluster-dir exclude each other (a cluster's members are its processes)", file=sys.stderr)
        return 2
    plan = FaultPlan.load(args.faults) if args.faults else FaultPlan()
    settings = Settings(version=args.version, context_path=context_path, basic_auth=auth)
    if args.cluster_dir:
        return _serve_member(args, plan, settings)
    engine = Engine(
        version=args.version,
        fault_plan=plan,
        time_scale=args.time_scale,
        history_expire_minutes=args.history_job_expire_minutes,
    )
    try:
        members = MemberList(args.members, default_host=args.host)
    except (OSError, ValueError) as error:
        print(f"--members: {error}", file=sys.stderr)
        return 2
    server = EmulatorServer((args.host, args.port), engine, settings, verbose=args.verbose, members=members)
    host, port = _bound_address(server)
    engine.node = f"{host}:{port}"
    _serve(server, args.version, settings, f"http://{host}:{port}{context_path}")
    return 0


def _bound_address(server: EmulatorServer) -> tuple[str, int]:
    """The address a TCP server is bound to (--port 0 picks the port)."""
    host, port = server.server_address[:2]
    return str(host), int(port)


def _serve(server: EmulatorServer, version: str, settings: Settings, url: str, extra: str = "") -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    api = "REST v2" if settings.serves_v2 else "REST v1 (Hazelcast paths)"
    print(f"SeaTunnel Zeta emulator {version} ({api}) listening on {url}{extra}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _serve_member(args: argparse.Namespace, plan: FaultPlan, settings: Settings) -> int:
    # Bind first: the member's address is the port it got (--port 0 picks one).
    store = ClusterStore(args.cluster_dir)
    server = EmulatorServer((args.host, args.port), Engine(version=args.version), settings, verbose=args.verbose)
    host, port = _bound_address(server)
    me = store.join(host=host, port=port, role=args.role)
    server.engine = ClusterEngine(
        store=store,
        me=me,
        version=args.version,
        fault_plan=plan,
        time_scale=args.time_scale,
        history_expire_minutes=args.history_job_expire_minutes,
    )
    server.members = ClusterMembers(store)
    heartbeat = Heartbeat(args.cluster_dir, me)
    heartbeat.start()
    try:
        url = f"http://{host}:{port}{settings.context_path}"
        _serve(server, args.version, settings, url, f" (cluster member {me.address}, role {args.role})")
    finally:
        heartbeat.stop()
        heartbeat.join()
        store.leave(heartbeat.me)  # a clean stop leaves at once; a killed process drops out when its heartbeat ages
    return 0


if __name__ == "__main__":
    sys.exit(main())
