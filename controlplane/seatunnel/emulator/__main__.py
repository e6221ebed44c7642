"""`python -m controlplane.seatunnel.emulator --port N ...` (see docs/EMULATOR.md)."""

from __future__ import annotations

import argparse
import signal
import sys

from controlplane.seatunnel.emulator.engine import Engine
from controlplane.seatunnel.emulator.faults import FaultPlan
from controlplane.seatunnel.emulator.members import MemberList
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
        "--time-scale", type=float, default=1.0, help="multiply every emulated duration by this factor (default 1)"
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
    plan = FaultPlan.load(args.faults) if args.faults else FaultPlan()
    settings = Settings(version=args.version, context_path=context_path, basic_auth=auth)
    engine = Engine(version=args.version, fault_plan=plan, time_scale=args.time_scale)
    try:
        members = MemberList(args.members, default_host=args.host)
    except (OSError, ValueError) as error:
        print(f"--members: {error}", file=sys.stderr)
        return 2
    server = EmulatorServer((args.host, args.port), engine, settings, verbose=args.verbose, members=members)
    host, port = server.server_address[:2]
    engine.node = f"{host}:{port}"
    signal.signal(signal.SIGTERM, _interrupt)
    api = "REST v2" if settings.serves_v2 else "REST v1 (Hazelcast paths)"
    print(f"SeaTunnel Zeta emulator {args.version} ({api}) listening on http://{host}:{port}{context_path}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
