"""The agent against the real control plane: daphne serving controlplane.asgi as a subprocess (on the test
database, SQLite by default, so the test can look at events and audit records; its own DATA_DIR in a temp
directory), and `python -m agent` as a subprocess supervising the Zeta emulator with the process manager.

- register with a bootstrap token issued through the operator API; heartbeats with facts are visible there;
- actions requested through the operator API run on the node and their results, output and artifacts arrive;
- a non-allowlisted, replayed, expired and forged action is refused, recorded REFUSED and audited;
- the agent rides out a control-plane restart and delivers the result that was pending while it was down;
- a revoked agent stops.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from rest_framework_simplejwt.tokens import RefreshToken

from controlplane.agents import signing
from controlplane.agents.models import Action, SigningKey
from controlplane.audit.models import AuditRecord
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.iam import actions as iam
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant
from tests import waiting
from tests.agents.live import database_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
FINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "REFUSED", "EXPIRED"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 60.0, message: str = "condition", every: float = 0.2):
    """tests/waiting.py's wait, with this file's more generous default (real processes on a shared machine)."""
    return waiting.wait_until(predicate, timeout=timeout, interval=every, message=message)


def shared_database_url() -> str:
    """The test database (SQLite by default; PostgreSQL or MariaDB in the matrix), shared with daphne."""
    return database_url(connection.settings_dict, connection.vendor)


class ControlPlane:
    """daphne on a fixed port (a restart comes back on the same address the agent knows)."""

    def __init__(self, data_dir: Path, master_key: bytes) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CONTROLPLANE_")}
        self.env.update(
            CONTROLPLANE_DATABASE_URL=shared_database_url(),
            CONTROLPLANE_MASTER_KEYS=f"test:{base64.b64encode(master_key).decode()}",
            CONTROLPLANE_DATA_DIR=str(data_dir),
            CONTROLPLANE_SECRET_KEY=settings.SECRET_KEY,  # operator tokens minted by this test are valid there
            CONTROLPLANE_AGENT_HEARTBEAT_SECONDS="1",
            CONTROLPLANE_LOG_LEVEL="DEBUG",  # the polls' parked lines (controlplane/agents/wakeup.py)
        )
        if os.environ.get("CONTROLPLANE_REDIS_URL"):
            self.env["CONTROLPLANE_REDIS_URL"] = os.environ["CONTROLPLANE_REDIS_URL"]
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.data_dir / f"daphne-{self.starts}.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "controlplane.asgi:application"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

        def up() -> bool:
            assert self.proc.poll() is None, (self.data_dir / f"daphne-{self.starts}.log").read_text()[-3000:]
            try:
                return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, message="daphne answering")

    def parked(self, agent_id: str) -> int:
        """How many times a poll of ``agent_id`` has parked in the running daphne (it logs each at DEBUG)."""
        return (self.data_dir / f"daphne-{self.starts}.log").read_text().count(f"poll parked: agent {agent_id},")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class AgentProcess:
    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        handle = open(log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "--log-level", "DEBUG", *args],
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        handle.close()

    @property
    def output(self) -> str:
        return self.log.read_text()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


class Operator:
    """The operator API over HTTP, as an owner of tenant acme, workspace etl."""

    def __init__(self, base: str, user: User) -> None:
        self.base = f"{base}/api/v1/tenants/acme/workspaces/etl/"
        self.client = httpx.Client(
            headers={"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}, timeout=30
        )

    def call(self, method: str, path: str, body: dict | None = None, status: int = 200) -> dict:
        response = self.client.request(method, self.base + path, json=body)
        assert response.status_code == status, (response.status_code, response.text[:2000])
        return response.json() if response.content else {}

    def request(self, agent_id: str, type_: str, params: dict | None = None, **extra) -> str:
        body = {"type": type_, "params": params or {}, **extra}
        return self.call("post", f"agents/{agent_id}/actions/", body, status=201)["id"]

    def action(self, action_id: str) -> dict:
        return self.call("get", f"agent-actions/{action_id}/")

    def wait_final(self, action_id: str, timeout: float = 90) -> dict:
        return wait_until(
            lambda: (a := self.action(action_id))["state"] in FINAL and a, timeout, f"action {action_id} to finish"
        )


@pytest.fixture
def world(tmp_path, master_keys, home):
    boot = Metadata.for_system(None, reason="tests")
    tenant_id = tenancy.do_create_tenant(metadata=boot, name="Acme", slug="acme")
    tenancy.do_create_workspace(metadata=boot, tenant_id=tenant_id, name="ETL", slug="etl")
    owner = User.objects.create_user("owner")
    iam.do_grant_role(
        user=owner,
        tenant=Tenant.objects.get(id=tenant_id),
        role="owner",
        metadata=Metadata.for_system(None, reason="tests"),
    )
    data_dir = tmp_path / "cp"
    data_dir.mkdir()
    server = ControlPlane(data_dir, master_keys.key("test"))
    server.start()
    agents: list[AgentProcess] = []
    zeta_port = free_port()
    world = {
        "server": server,
        "operator": Operator(server.url, owner),
        "agents": agents,
        "home": home,
        "state": tmp_path / "agent-state",
        "zeta_port": zeta_port,
        "tenant_id": tenant_id,
        "tmp": tmp_path,
    }
    yield world
    for agent in agents:
        agent.stop()
    # the process manager's child outlives the agent on purpose (like a systemd service): stop it here
    for role in ("service", "worker"):
        pid_file = tmp_path / "agent-state" / f"{role}.pid"
        if pid_file.exists():
            try:
                os.killpg(json.loads(pid_file.read_text())["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
    server.stop()


ALL_TYPES = [
    "service.status",
    "service.start",
    "service.stop",
    "service.restart",
    "worker.start",
    "health.check",
    "snapshot.version_config",
    "log.tail",
    "diagnostics.collect",
    "plugin.install",
]


def write_config(world: dict, allow: list[str], poll_wait: int = 25, skew: int | None = None) -> Path:
    port = world["zeta_port"]
    worker_port = free_port()
    # worker.start waits for a readiness URL that answers only once the test creates the gate file: the test
    # stops the control plane while the action runs, then lets it finish.
    gate = world["tmp"] / "worker-may-start"
    slow_worker = (
        f"import os, runpy, sys; sys.path.insert(0, {str(ROOT)!r}); from tests.waiting import wait_until; "
        f"wait_until(lambda: os.path.exists({str(gate)!r}), timeout=120, message='the gate'); "
        f"sys.argv = ['http.server', '--bind', '127.0.0.1', '{worker_port}']; "
        "runpy.run_module('http.server', run_name='__main__')"
    )
    lines = [
        f"member_address = '127.0.0.1:{port}'",
        *([f"expiry_skew_seconds = {skew}"] if skew is not None else []),
        "[heartbeat]",
        f"poll_wait_seconds = {poll_wait}",
        "[seatunnel]",
        f"home = '{world['home']}'",
        f"engine_url = 'http://127.0.0.1:{port}'",
        "[allowlist]",
        f"types = {json.dumps(allow)}",
        "[allowlist.limits.'log.tail']",
        "lines = 100",
        "[service]",
        "manager = 'process'",
        f"command = {json.dumps([sys.executable, '-m', 'controlplane.seatunnel.emulator', '--port', str(port)])}",
        f"cwd = '{ROOT}'",
        f"ready_url = 'http://127.0.0.1:{port}/overview'",
        "[worker]",
        "manager = 'process'",
        f"command = {json.dumps([sys.executable, '-c', slow_worker])}",
        f"ready_url = 'http://127.0.0.1:{worker_port}/'",
        "ready_timeout_seconds = 60",
    ]
    path = world["tmp"] / "agent.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def start_agent(
    world: dict, allow: list[str], token: str | None = None, poll_wait: int = 25, skew: int | None = None
) -> AgentProcess:
    config = write_config(world, allow, poll_wait, skew)
    args = ["--server", world["server"].url, "--config", str(config), "--state-dir", str(world["state"])]
    if token:
        args += ["--bootstrap-token", token]
    agent = AgentProcess(args, world["tmp"] / f"agent-{len(world['agents']) + 1}.log")
    world["agents"].append(agent)
    return agent


def register(world: dict, allow: list[str] = ALL_TYPES, poll_wait: int = 25) -> tuple[AgentProcess, str]:
    token = world["operator"].call("post", "agent-bootstrap-tokens/", {"description": "node 1"}, status=201)["token"]
    agent = start_agent(world, allow, token, poll_wait)
    listed = wait_until(lambda: world["operator"].call("get", "agents/")["results"], message="the agent registered")
    # the control plane lists the agent as soon as it commits; the agent writes its credential on the answer
    wait_until((world["state"] / "credential.json").exists, message="credential.json written")
    return agent, listed[0]["id"]


def polls(agent: AgentProcess) -> int:
    return agent.output.count("poll: waiting up to")


def test_register_heartbeat_and_actions_through_the_operator_api(world):
    op = world["operator"]
    agent, agent_id = register(world)
    state = world["state"]
    assert oct(state.stat().st_mode & 0o777) == "0o700"
    assert oct((state / "credential.json").stat().st_mode & 0o777) == "0o600"
    assert json.loads((state / "credential.json").read_text())["agent_id"] == agent_id

    def beating() -> dict | None:
        detail = op.call("get", f"agents/{agent_id}/")
        return detail if detail["liveness"] and detail["liveness"]["heartbeats"] >= 2 else None

    detail = wait_until(beating, message="heartbeats")
    assert detail["status"] == "online" and detail["member_address"] == f"127.0.0.1:{world['zeta_port']}"
    facts = detail["facts"]
    assert facts["seatunnel_version"] == "2.3.12" and facts["seatunnel_version_source"] == "home"
    assert facts["service"] == {"manager": "process", "state": "stopped", "pid": None}
    assert facts["cpu_count"] >= 1 and facts["disk"]["path"] == str(world["home"])

    # start the SeaTunnel service (the emulator) through the agent
    started = op.wait_final(op.request(agent_id, "service.start", {"timeout_seconds": 60}))
    assert started["state"] == "SUCCEEDED", started
    pid = started["result"]["status"]["pid"]
    overview = httpx.get(f"http://127.0.0.1:{world['zeta_port']}/overview").json()
    assert overview["projectVersion"] == "2.3.12"

    health = op.wait_final(op.request(agent_id, "health.check"))
    assert health["state"] == "SUCCEEDED" and health["result"]["healthy"] is True
    assert health["result"]["engine"]["overview"]["projectVersion"] == "2.3.12"
    # the heartbeat now reports the engine's version and the running service
    wait_until(
        lambda: op.call("get", f"agents/{agent_id}/")["facts"]["seatunnel_version_source"] == "engine",
        message="facts from the engine",
    )

    tail = op.wait_final(op.request(agent_id, "log.tail", {"file": "seatunnel-engine-server.log", "lines": 3}))
    assert tail["state"] == "SUCCEEDED" and tail["result"]["lines"] == ["line 998", "line 999", "line 1000"]
    assert "".join(c["text"] for c in tail["output"]) == "line 998\nline 999\nline 1000\n"

    snapshot = op.wait_final(op.request(agent_id, "snapshot.version_config"))
    assert snapshot["state"] == "SUCCEEDED" and "hunter2" not in json.dumps(snapshot)
    assert snapshot["result"]["running_version"] == "2.3.12"

    bundle = op.wait_final(op.request(agent_id, "diagnostics.collect", {"since_minutes": 30}))
    assert bundle["state"] == "SUCCEEDED", bundle
    artifact = bundle["result"]["artifact"]
    assert bundle["artifacts"] == [
        {"sha256": artifact["sha256"], "size": artifact["size"], "uploaded_at": bundle["artifacts"][0]["uploaded_at"]}
    ]
    stored = world["server"].data_dir / "artifacts" / artifact["sha256"]
    assert stored.stat().st_size == artifact["size"]

    restarted = op.wait_final(op.request(agent_id, "service.restart", {"timeout_seconds": 60}))
    assert restarted["state"] == "SUCCEEDED" and restarted["result"]["previous_pid"] == pid
    assert restarted["result"]["status"]["pid"] != pid

    # params: the control plane checks the catalog's schema before it queues anything; the agent checks again,
    # with its own lower local limit (lines <= 100 in this node's config)
    op.call("post", f"agents/{agent_id}/actions/", {"type": "log.tail", "params": {"file": "../x"}}, status=400)
    bad = op.wait_final(op.request(agent_id, "log.tail", {"file": "seatunnel-engine-server.log", "lines": 500}))
    assert bad["state"] == "REFUSED" and bad["error_code"] == "AGENT_PARAMS_INVALID"

    # the events of one action, in order
    types = list(
        Event.objects.filter(stream_id=f"action-{started['id']}")
        .order_by("version")
        .values_list("event_type", flat=True)
    )
    assert types[0] == "agents.action_requested" and types[-1] == "agents.action_succeeded"
    assert "agents.action_delivered" in types

    # a revoked agent stops polling and exits with 3
    op.call("post", f"agents/{agent_id}/revoke/", {"reason": "decommissioned"})
    assert agent.proc.wait(timeout=60) == 3
    assert "revoked" in agent.output


def refused_and_audited(world: dict, action_id: str, code: str) -> None:
    action = world["operator"].wait_final(action_id)
    assert action["state"] == "REFUSED" and action["error_code"] == code, action
    # one audit record per refusal the agent sent (a re-delivered envelope is answered with the stored refusal
    # again, so there may be two); the state changed once
    records = list(AuditRecord.objects.filter(action="agent_action.refused", resource_id=action_id))
    assert records and all((r.result, r.error_code, r.actor_kind) == ("denied", code, "agent") for r in records)
    assert Event.objects.filter(stream_id=f"action-{action_id}", event_type="agents.action_refused").count() == 1


def stop_agent(agent: AgentProcess) -> None:
    # The long poll notices its client went away (http.disconnect) and claims nothing for it
    # (tests/agents/test_long_poll.py::test_a_poll_the_agent_abandoned_claims_nothing): no need to let it run out.
    agent.stop()


def test_refusals_are_recorded_and_audited(world):
    op = world["operator"]
    wait = 5  # short long polls: a stopped agent's last poll runs out soon (see stop_agent)
    agent, agent_id = register(world, poll_wait=wait)
    wait_until(lambda: polls(agent) >= 1, message="the first poll")

    # 1. not in the local allowlist: the node's config no longer allows restarts, the control plane still
    #    believes the list the agent registered with
    stop_agent(agent)
    narrow = [t for t in ALL_TYPES if t != "service.restart"]
    agent = start_agent(world, narrow, poll_wait=wait)
    wait_until(lambda: polls(agent) >= 1, message="a poll after the restart")
    refused_and_audited(
        world, op.request(agent_id, "service.restart", {"timeout_seconds": 30}), "AGENT_ACTION_NOT_ALLOWED"
    )

    # 2. replayed: the control plane hands out a second action with the first one's nonce (a fault simulated
    #    on its read model, which the envelope is built from)
    stop_agent(agent)
    first = op.request(agent_id, "service.status")
    second = op.request(agent_id, "service.status")
    Action.unscoped.filter(id=second).update(nonce=Action.unscoped.get(id=first).nonce)
    # no skew allowance on expires_at: case 3 then waits for the 10 s expiry alone, not 10 + 30 s
    agent = start_agent(world, narrow, poll_wait=wait, skew=0)
    # both come in one poll answer: whichever the agent sees first runs, the other is the replay
    finished = {action_id: op.wait_final(action_id)["state"] for action_id in (first, second)}
    assert sorted(finished.values()) == ["REFUSED", "SUCCEEDED"], finished
    replayed = next(action_id for action_id, state in finished.items() if state == "REFUSED")
    refused_and_audited(world, replayed, "AGENT_ACTION_REPLAYED")

    # 3. expired: the node freezes (SIGSTOP) while its long poll is answered, and wakes after the expiry (its
    #    skew allowance is configured to 0 above)
    parked = world["server"].parked(agent_id)
    wait_until(lambda: world["server"].parked(agent_id) > parked, message="a fresh long poll waiting in daphne")
    agent.proc.send_signal(signal.SIGSTOP)
    try:
        late = op.request(agent_id, "service.status", expires_in_seconds=10)
        wait_until(lambda: op.action(late)["state"] == "DELIVERED", message="delivered to the frozen agent")
        expires = datetime.fromisoformat(op.action(late)["expires_at"]).timestamp()
        # time itself must pass here: the shortest expiry the control plane accepts is 10 s
        wait_until(lambda: time.time() > expires + 0.5, timeout=30, message="the action's expiry", every=0.1)
    finally:
        agent.proc.send_signal(signal.SIGCONT)
    refused_and_audited(world, late, "AGENT_ACTION_EXPIRED")

    # 4. forged: the control plane now signs with a key the agent never pinned
    old = SigningKey.objects.get(active=True)
    SigningKey.objects.filter(key_id=old.key_id).update(active=False)
    signing._create("cp-ed25519-rogue")
    try:
        forged = op.request(agent_id, "service.status")
        refused_and_audited(world, forged, "AGENT_SIGNATURE_INVALID")
    finally:
        SigningKey.objects.filter(key_id="cp-ed25519-rogue").delete()
        SigningKey.objects.filter(key_id=old.key_id).update(active=True)
    # with the pinned key back, actions run again
    assert op.wait_final(op.request(agent_id, "health.check"))["state"] == "SUCCEEDED"
    assert "refused: AGENT_SIGNATURE_INVALID" in agent.output


def test_the_agent_rides_out_a_control_plane_restart(world):
    op = world["operator"]
    agent, agent_id = register(world)
    server = world["server"]
    action_id = op.request(agent_id, "worker.start", {"timeout_seconds": 60})
    wait_until(lambda: op.action(action_id)["state"] == "RUNNING", message="the worker start running")
    server.stop()  # the control plane goes away while the action runs
    (world["tmp"] / "worker-may-start").touch()  # and the worker may now come up
    pending = world["state"] / "outbox" / f"{action_id}.json"
    wait_until(pending.exists, message="the finished result waiting in the outbox", timeout=60)
    assert json.loads(pending.read_text())["body"]["status"] == "succeeded"
    wait_until(lambda: "outbox: POST" in agent.output and "ConnectError" in agent.output, message="failed sends")
    # it keeps retrying rather than giving up or exiting
    failed = agent.output.count("ConnectError")
    wait_until(lambda: agent.output.count("ConnectError") > failed, message="another failed send")
    assert agent.proc.poll() is None  # still running
    server.start()
    done = op.wait_final(action_id)
    assert done["state"] == "SUCCEEDED" and done["result"]["status"]["state"] == "running"
    wait_until(lambda: not pending.exists(), message="the outbox emptied")
    before = op.call("get", f"agents/{agent_id}/")["liveness"]["heartbeats"]
    wait_until(
        lambda: op.call("get", f"agents/{agent_id}/")["liveness"]["heartbeats"] > before,
        message="heartbeats after the restart",
    )
    assert op.wait_final(op.request(agent_id, "service.status"))["state"] == "SUCCEEDED"
