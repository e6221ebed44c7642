"""The demo's node agent: `make run` runs `python -m agent` supervising the Zeta emulator as the SeaTunnel service.

Everything lives under ``<data dir>/demo-agent/``:

- ``agent.toml``: the agent's config, written on every start (it follows PORT and the Python in use): the
  process service manager running the emulator on PORT + 80 with ``with_agent`` (the agent starts it before it
  registers and stops it when it stops), ``member_address`` as the emulator reports its member, and an
  allowlist of the catalog's safe actions (``SAFE_ACTIONS``).
- ``state/``: the agent's state directory (``credential.json`` 0600, seen ids, outbox, the emulator's pid file).
  A second start finds the credential there and needs no token.
- ``seatunnel/``: the node's SeaTunnel home as the agent reports it (``controlplane.seatunnel.emulator.home``):
  the bin tarball's layout with empty files named like its jars, the JDBC connector added and no JDBC driver in
  ``lib/`` (the demo's failing job lacks it); the emulator's log is in its ``logs/``. Created where missing on
  every start, never emptied: a jar dropped in by hand stays and shows on the cluster's page.
- ``bootstrap-token``: written once (0600) when the demo cluster exists and the agent has no credential; the
  agent, started with ``--bootstrap-token-file``, waits for it. It is removed once the agent registered.

The bootstrap token is bound to the demo cluster, so the cluster's node lists its agent (by member address).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agent.state import write_atomic
from controlplane.seatunnel.emulator.home import WITH_JDBC, lay_out_home
from controlplane.seatunnel.emulator.server import Settings

if TYPE_CHECKING:  # models are imported inside the functions: this module loads before the apps are ready
    from controlplane.clusters.models import Cluster

DIRECTORY = "demo-agent"
# The emulator without --members reports one member: the bind host and Hazelcast's default member port.
MEMBER_PORT = 5801
ENGINE_VERSION = Settings().version  # the emulator's default, which the demo runs
# Everything in the catalog but plugin.install (it fetches and writes a jar) and worker.* (no [worker] here).
SAFE_ACTIONS = (
    "service.status",
    "service.start",
    "service.stop",
    "service.restart",
    "health.check",
    "snapshot.version_config",
    "log.tail",
    "diagnostics.collect",
)


@dataclass(frozen=True)
class DemoAgent:
    root: Path
    server: str  # the control plane's URL, as the agent reaches it
    host: str
    zeta_port: int
    python: str
    base_dir: Path

    @property
    def config_path(self) -> Path:
        return self.root / "agent.toml"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def home(self) -> Path:
        return self.root / "seatunnel"

    @property
    def token_path(self) -> Path:
        return self.root / "bootstrap-token"

    @property
    def credential_path(self) -> Path:
        return self.state_dir / "credential.json"

    @property
    def engine_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.zeta_port}"

    @property
    def member_address(self) -> str:
        return f"{self.host}:{MEMBER_PORT}"

    def argv(self) -> list[str]:
        return [
            self.python, "-m", "agent", "--config", str(self.config_path),
            "--bootstrap-token-file", str(self.token_path),
        ]  # fmt: skip

    def registered_id(self) -> str | None:
        """The agent id in the credential the agent stored, if any (the file is the agent's; read, never written)."""
        try:
            raw = json.loads(self.credential_path.read_text())
        except (OSError, ValueError):
            return None
        agent_id = raw.get("agent_id") if isinstance(raw, dict) else None
        return agent_id if isinstance(agent_id, str) and agent_id else None

    def _credential_server(self) -> str | None:
        try:
            return json.loads(self.credential_path.read_text()).get("server")
        except (OSError, ValueError, AttributeError):
            return None

    def leftover_service(self) -> int | None:
        return leftover_service(self.root.parent)

    def write_config(self) -> None:
        command = [
            self.python,
            "-m",
            "controlplane.seatunnel.emulator",
            "--host",
            self.host,
            "--port",
            str(self.zeta_port),
        ]
        lines = [
            "# Written by `manage.py runcontrolplane --seed-demo` on every start (docs/AGENT.md); edits are lost.",
            f"server = {json.dumps(self.server)}",
            f"state_dir = {json.dumps(str(self.state_dir))}",
            f"member_address = {json.dumps(self.member_address)}",
            "",
            "[seatunnel]",
            f"home = {json.dumps(str(self.home))}",
            f"engine_url = {json.dumps(self.engine_url)}",
            "",
            "[allowlist]",
            f"types = {json.dumps(list(SAFE_ACTIONS))}",
            "",
            "[service]",
            'manager = "process"',
            f"command = {json.dumps(command)}",
            f"cwd = {json.dumps(str(self.base_dir))}",
            f"ready_url = {json.dumps(self.engine_url + '/overview')}",
            "with_agent = true",
            "stop_timeout_seconds = 10",
            "",
        ]
        self.root.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text("\n".join(lines))


def leftover_service(data_dir: Path, zeta_port: int | None = None) -> int | None:
    """The pid of an emulator a previous demo agent started and did not stop (the agent was killed, e.g. by a
    second Ctrl-C): the pid file names a live process with the recorded start time (and, given `zeta_port`,
    that port). The agent adopts it (the process manager's start finds it running) and stops it when it stops."""
    try:
        record = json.loads((Path(data_dir) / DIRECTORY / "state" / "service.pid").read_text())
        pid, ticks, command = int(record["pid"]), record["start_ticks"], record.get("command") or []
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if fields[0] in ("Z", "X") or int(fields[19]) != ticks:
        return None
    if zeta_port is not None and str(zeta_port) not in command:
        return None
    return pid


def prepare(
    data_dir: Path, *, server: str, host: str, zeta_port: int, python: str, base_dir: Path
) -> tuple[DemoAgent, str]:
    """Write the agent's config, lay out the node's SeaTunnel home where it is missing, and decide whether the
    agent's stored credential still serves: it must name this server and an agent the control plane has not
    revoked (else the state is cleared and the agent registers again). Returns the demo agent and a line for the
    banner."""
    from controlplane.agents.selectors import agent_is_live_for_system

    demo = DemoAgent(
        root=Path(data_dir) / DIRECTORY, server=server, host=host, zeta_port=zeta_port, python=python, base_dir=base_dir
    )
    agent_id = demo.registered_id()
    stale = ""
    if agent_id is not None:
        if demo._credential_server() != server:
            stale = f"its credential belonged to {demo._credential_server()}"
        elif not agent_is_live_for_system(agent_id):
            stale = f"agent {agent_id} is revoked or unknown here"
        if stale:
            leftover = demo.leftover_service()
            if leftover is not None:  # its pid file goes with the state: stop it while it is still known
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(leftover, signal.SIGTERM)
                deadline = time.monotonic() + 10  # the new emulator needs its port
                while demo.leftover_service() is not None and time.monotonic() < deadline:
                    time.sleep(0.1)
            shutil.rmtree(demo.state_dir, ignore_errors=True)
            agent_id = None
    demo.write_config()
    lay_out_home(demo.home, ENGINE_VERSION, connectors=WITH_JDBC)
    # A spent token, or one of an earlier start that never registered (a fresh one is issued): either goes.
    demo.token_path.unlink(missing_ok=True)
    if agent_id is not None:
        return demo, f"registered as agent {agent_id}; reuses its credential"
    note = "registers with a one-time bootstrap token once the demo cluster exists"
    return demo, f"{note} ({stale}: registering anew)" if stale else note


def _demo_cluster() -> Cluster:
    from controlplane.clusters.selectors import live_cluster_named_for_system
    from controlplane.console.management.commands.seed_demo import DEMO_CLUSTER, TENANT_SLUG, WORKSPACE_SLUG
    from controlplane.tenancy.models import Workspace

    workspace = Workspace.objects.get(tenant__slug=TENANT_SLUG, slug=WORKSPACE_SLUG)
    cluster = live_cluster_named_for_system(workspace.id, DEMO_CLUSTER)
    if cluster is None:
        raise LookupError(f"the demo cluster {DEMO_CLUSTER!r} is not registered (seed_demo registers it)")
    return cluster


def enroll(demo: DemoAgent) -> str | None:
    """A bootstrap token bound to the demo cluster, written 0600 where the waiting agent reads it; None when
    the agent already has a credential or a token is already waiting."""
    from controlplane.agents.actions import do_issue_bootstrap_token
    from controlplane.audit.recorder import record_command
    from controlplane.eventlog.metadata import Metadata

    if demo.registered_id() is not None or demo.token_path.exists():
        return None
    cluster = _demo_cluster()
    meta = Metadata.for_system(cluster.tenant_id, workspace_id=cluster.workspace_id, reason="seed_demo")
    token_id, text = do_issue_bootstrap_token(
        metadata=meta,
        tenant_id=cluster.tenant_id,
        workspace_id=cluster.workspace_id,
        cluster_id=cluster.id,
        expires_in_seconds=3600,
        description="make run: the demo agent",
    )
    record_command("seed_demo", resource_type="agent_bootstrap_token", result="ok", details={"token_id": token_id})
    write_atomic(demo.token_path, (text + "\n").encode())  # the agent never reads half a token
    return f"bootstrap token {token_id} issued for the demo agent (bound to the demo cluster)"


def wait_online(demo: DemoAgent, since: datetime, timeout: float, alive: Callable[[], bool]) -> tuple[bool, str]:
    """Wait until the demo agent is registered, online and has heartbeated after `since` (an agent of the
    previous start still looks online for a few intervals); whether it is, and the line to print."""
    from controlplane.agents.selectors import agent_for_system, heard_since_for_system

    deadline = time.monotonic() + timeout
    while alive():
        agent_id = demo.registered_id()
        row = agent_for_system(agent_id) if agent_id else None
        heard = row is not None and heard_since_for_system(row.id, since)
        if row is not None and row.status == "online" and heard:
            demo.token_path.unlink(missing_ok=True)
            return True, (
                f"agent {row.id} online on {row.hostname}: supervises the emulator at {demo.engine_url} "
                f"as member {row.member_address}"
            )
        if time.monotonic() > deadline:
            state = row.status if row is not None else "not registered"
            return False, f"the demo agent is not online after {timeout:g} s ({state}); see the agent's lines above"
        time.sleep(0.3)
    return False, "the demo agent stopped before it was online"


def poll_now() -> str:
    """Poll the demo cluster's health once, as beat does every interval, so its node (and the node's agent)
    shows in the console at once; the line to print."""
    from controlplane.clusters import health
    from controlplane.eventlog.metadata import Metadata

    cluster = _demo_cluster()
    meta = Metadata.for_system(cluster.tenant_id, workspace_id=cluster.workspace_id, reason="seed_demo")
    observed = health.poll_one(cluster, metadata=meta)
    if not observed.reachable:
        return f"cluster {cluster.name!r} not reachable: {observed.error_code}: {observed.error_message}"
    members = ", ".join(member.address or "?" for member in observed.members) or "none"
    return f"cluster {cluster.name!r} polled: members {members}"


DEMO_OPERATION = {"action": "health.check", "params": {}}
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "ROLLED_BACK"}


def seed_operation(timeout: float, alive: Callable[[], bool]) -> list[str]:
    """Once: a `run_action` operation running `health.check` through the demo agent, so a newcomer finds a
    finished operation with its step in the console, then a `diagnose` of the demo's failed run, so the console
    shows a diagnostic archive and the finding (its fault: no JDBC driver) with its one-click fix. Waits for each
    to end (the worker and the agent run them); the lines to print."""
    from controlplane.eventlog.metadata import Metadata
    from controlplane.operations.actions import do_request_operation
    from controlplane.operations.selectors import cluster_has_operations_for_system

    cluster = _demo_cluster()
    if cluster_has_operations_for_system(cluster.id):
        return ["demo operation exists"]
    meta = Metadata.for_system(cluster.tenant_id, workspace_id=cluster.workspace_id, reason="seed_demo")
    deadline = time.monotonic() + timeout
    operation_id = do_request_operation(metadata=meta, cluster=cluster, type="run_action", params=DEMO_OPERATION)
    notes = [f"operation {operation_id} requested: run_action health.check on the demo node"]
    notes.append(_wait_for_operation(operation_id, deadline, timeout, alive))
    failed = _wait_for_failed_demo_run(deadline, alive)
    if failed is None:
        return [*notes, "the demo's failing job has no failed run yet: no diagnosis"]
    diagnosis = do_request_operation(metadata=meta, cluster=cluster, type="diagnose", params={"run_id": failed})
    notes.append(f"operation {diagnosis} requested: diagnose the failed run {failed}")
    notes.append(_wait_for_operation(diagnosis, deadline, timeout, alive))
    return [*notes, _findings_note(diagnosis)]


def _wait_for_operation(operation_id: str, deadline: float, timeout: float, alive: Callable[[], bool]) -> str:
    from controlplane.operations.selectors import operation_row_for_system

    while alive():
        row = operation_row_for_system(operation_id)
        assert row is not None  # the request wrote it, synchronously
        if row.state in TERMINAL:
            error = f" ({row.error_code}: {row.error})" if row.error_code else ""
            return f"operation {operation_id} {row.state}, {row.steps_done}/{row.step_count} steps{error}"
        if time.monotonic() > deadline:
            return f"operation {operation_id} still {row.state} after {timeout:g} s; see the console"
        time.sleep(0.3)
    return f"operation {operation_id}: the control plane stopped before it ended"


def _wait_for_failed_demo_run(deadline: float, alive: Callable[[], bool]) -> str | None:
    """The id of the demo's failing job's run once it has FAILED (the emulator fails it within a second of RUNNING)."""
    from controlplane.console.management.commands.seed_demo import DEMO_BROKEN_JOB
    from controlplane.jobs.selectors import latest_run_for_system, live_job_named_for_system

    workspace_id = _demo_cluster().workspace_id
    while alive() and time.monotonic() < deadline:
        job = live_job_named_for_system(workspace_id, DEMO_BROKEN_JOB)
        run = latest_run_for_system(job.id) if job is not None else None
        if run is not None and run.state == "FAILED":
            return str(run.id)
        time.sleep(0.3)
    return None


def _findings_note(archive_id: str) -> str:
    from controlplane.diagnostics.selectors import findings_of_archive_for_system

    findings = findings_of_archive_for_system(archive_id)
    if not findings:
        return f"diagnostic archive {archive_id}: no known fault found"
    return f"diagnostic archive {archive_id}: {len(findings)} finding(s), first {findings[0].fingerprint_id}"
