"""Run the whole control plane in the foreground: web (daphne), a Celery worker and Celery beat.

This is what ``make run`` starts. Before the children start it migrates, collects static files (served by
Django itself when CONTROLPLANE_SERVE_STATIC is on) and, with ``--seed-demo``, seeds the demo and adds a node
agent (``python -m agent``, controlplane/console/demo_agent.py) that runs the Zeta emulator on PORT + 80 as
its SeaTunnel service; once the emulator answers, the demo cluster is registered, the agent enrolled (first
start only) and the demo jobs started. A child that dies is restarted with a growing delay; one that keeps dying
at once stops everything with exit 1 (controlplane/console/supervisor.py). Ctrl-C or SIGTERM stops everything
(the agent stops its emulator) and exits 0.
"""

from __future__ import annotations

import functools
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from controlplane import instruments
from controlplane.console import demo_agent as demo_agents
from controlplane.console.management.commands.seed_demo import password_path
from controlplane.console.ready_banner import ready_banner
from controlplane.console.supervisor import Child, Supervisor
from controlplane.errors import DomainError


def _default_port() -> int:
    raw = os.environ.get("PORT", "").strip() or "8000"
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise CommandError(f"PORT={raw!r} is not a TCP port number")
    return int(raw)


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # Same option as daphne's listener, so connections of a previous run in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {host}:{port}: {exc.strerror} (set PORT=... to use another port)"
            ) from None


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


class Command(BaseCommand):
    help = "Run web (daphne), a Celery worker and Celery beat in the foreground until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address daphne binds (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=None, help="TCP port (default: $PORT or 8000)")
        parser.add_argument("--seed-demo", action="store_true", help="run seed_demo before starting")
        parser.add_argument("--no-migrate", action="store_true", help="skip migrate and collectstatic")
        parser.add_argument(
            "--grace", type=float, default=20.0, help="seconds the children get to stop before being killed"
        )

    def handle(self, *args: object, **options: object) -> None:
        host = str(options["host"])
        port = int(options["port"]) if options["port"] is not None else _default_port()
        _check_port_free(host, port)
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
            call_command("collectstatic", interactive=False, verbosity=0)
        if options["seed_demo"]:
            call_command("seed_demo")

        url = _url(host, port)
        level = settings.LOG_LEVEL.lower()
        python = sys.executable
        zeta_url, demo, agent_note, zeta_port = None, None, "", None
        if options["seed_demo"]:
            # The demo cluster: the Zeta emulator on PORT + 80 (8080 for the default 8000, Zeta's own REST
            # port), run by the demo agent as its SeaTunnel service.
            zeta_port = port + 80
            try:
                _check_port_free(host, zeta_port)
            except CommandError as error:
                # Unless it is the demo's own emulator, left running by a killed agent: the agent adopts it.
                if demo_agents.leftover_service(Path(settings.DATA_DIR), zeta_port) is None:
                    self.stderr.write(f"demo cluster not started: {error}")
                    zeta_port = None
            if zeta_port is not None:
                zeta_url = _url(host, zeta_port).rstrip("/")
                demo, agent_note = demo_agents.prepare(
                    Path(settings.DATA_DIR),
                    server=url.rstrip("/"),
                    host=host,
                    zeta_port=zeta_port,
                    python=python,
                    base_dir=Path(settings.BASE_DIR),
                )

        broker = "redis" if settings.REDIS_URL else f"filesystem ({settings.BROKER_DIR})"
        self.stdout.write(f"control plane: {url}  (database {settings.DATABASE_VENDOR}, broker {broker})")
        self.stdout.write(f"data directory: {settings.DATA_DIR}; press Ctrl-C to stop")
        if demo is not None:
            self.stdout.write(
                f"demo agent: config {demo.config_path}, state {demo.state_dir}; emulator at {zeta_url}; {agent_note}"
            )
        # --quiet: without Celery's start-up banners (config, task list), which would bury the ready block.
        children = [
            Child(
                "web",
                [python, "-m", "daphne", "-b", host, "-p", str(port), "controlplane.asgi:application"],
            ),
            Child(
                "worker",
                [
                    python, "-m", "celery", "-A", "controlplane", "--quiet", "worker",
                    "--pool=solo", "--without-mingle", "--without-gossip", "--without-heartbeat",
                    "--hostname", f"worker-{port}@%h", "-l", level,
                ],
                # Celery warns at every start when it runs as root, as `make run` often does (a container, a
                # VM). Here web and agent run as the same user anyway, and the worker accepts JSON only (Celery
                # refuses pickle as root): only this warning is ignored, the others still show.
                env={"PYTHONWARNINGS": _with_warning_filter(os.environ.get("PYTHONWARNINGS"), CELERY_ROOT_WARNING)},
            ),
            Child(
                "beat",
                [
                    python, "-m", "celery", "-A", "controlplane", "--quiet", "beat",
                    "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME, "-l", level,
                ],
            ),
        ]  # fmt: skip
        if demo is not None:
            children.append(Child("agent", demo.argv()))
        env = dict(os.environ)
        env.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")
        env["PYTHONUNBUFFERED"] = "1"
        # The data directory the parent resolved, so children agree even if it was relative.
        env["CONTROLPLANE_DATA_DIR"] = str(settings.DATA_DIR)
        # prometheus-client's multiprocess mode: web, worker and beat write their counters into one directory that
        # /metrics sums; emptied first, so a previous run's counts are not added to this one's (ADR 0028).
        metrics_dir = Path(env.get(instruments.MULTIPROC_ENV) or Path(settings.DATA_DIR) / "metrics")
        env[instruments.MULTIPROC_ENV] = str(instruments.prepare_multiprocess_dir(metrics_dir))

        def write(text: str) -> None:
            sys.stdout.write(text)
            sys.stdout.flush()

        banner = functools.partial(  # called when the web answers
            ready_banner,
            url,
            Path(settings.DATA_DIR),
            password_file=password_path() if options["seed_demo"] else None,
            zeta_url=zeta_url,
        )
        supervisor = Supervisor(
            children,
            env=env,
            cwd=Path(settings.BASE_DIR),
            write=write,
            grace=float(options["grace"]),
            on_started=lambda: _on_started(supervisor, host, port, banner, zeta_url, demo),
        )
        code = supervisor.run()
        if supervisor.gave_up is not None:
            raise CommandError(
                f"the control plane stopped because {supervisor.gave_up.name} failed (the lines above say how)",
                returncode=code,
            )
        if code != 0:
            raise CommandError("the control plane stopped, but a process had to be killed", returncode=code)


# The start of Celery's SecurityWarning for a worker run as root (celery.platforms.ROOT_DISCOURAGED).
CELERY_ROOT_WARNING = "You're running the worker with superuser privileges"


def _with_warning_filter(current: str | None, message: str) -> str:
    # PYTHONWARNINGS takes a literal message prefix; ours matches that one message, the caller's still apply.
    return ",".join(filter(None, [current, f"ignore:{message}"]))


def _on_started(
    supervisor: Supervisor,
    host: str,
    port: int,
    banner: Callable[[], list[str]],
    zeta_url: str | None,
    demo: demo_agents.DemoAgent | None,
) -> None:
    _announce_when_listening(supervisor, host, port, banner)
    if zeta_url is not None and demo is not None:
        threading.Thread(target=_seed_demo_cluster, args=(supervisor, zeta_url, demo), name="demo", daemon=True).start()


def _seed_demo_cluster(supervisor: Supervisor, zeta_url: str, demo: demo_agents.DemoAgent) -> None:
    """Once the agent's emulator answers: register it as the demo cluster, start the demo jobs, enrol the agent
    (first start) and wait until it is online (errors are told)."""
    from django.db import connection
    from django.utils import timezone

    from controlplane.console.management.commands.seed_demo import seed_demo_cluster

    agent = next(c for c in supervisor.children if c.name == "agent")
    started = timezone.now()
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                for note in seed_demo_cluster(zeta_url):
                    supervisor.say("demo", note)
                note = demo_agents.enroll(demo)
                if note is not None:
                    supervisor.say("demo", note)
                break
            except DomainError as error:
                if error.code != "ZETA_UNREACHABLE" or time.monotonic() > deadline:
                    supervisor.say("demo", f"demo cluster not seeded: {error.code}: {error.message}")
                    return
                time.sleep(0.3)
        alive = lambda: agent.running  # noqa: E731
        online, note = demo_agents.wait_online(demo, started, 60, alive)
        supervisor.say("demo", note)
        if not online:
            return
        try:
            supervisor.say("demo", demo_agents.poll_now())
            for note in demo_agents.seed_operation(60, alive):
                supervisor.say("demo", note)
        except DomainError as error:
            supervisor.say("demo", f"demo operation not run: {error.code}: {error.message}")
    finally:
        connection.close()


def _announce_when_listening(supervisor: Supervisor, host: str, port: int, banner: Callable[[], list[str]]) -> None:
    def wait() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((host, port), timeout=1):
                    supervisor.say_block(banner())
                    return
            except OSError:
                time.sleep(0.2)
        supervisor.say("control", f"web is not answering on port {port} after 60 s")

    threading.Thread(target=wait, name="announce", daemon=True).start()
