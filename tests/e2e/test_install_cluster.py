"""Issue 14's cluster side, with real processes only: the installer's agent actions and operations.

- The control plane as deployed (`manage.py runcontrolplane`: daphne, a Celery worker, beat) on a private database,
  as tests/e2e/test_rolling_restart.py starts it (its helpers are reused).
- Nodes are agents (`python -m agent`) with an `[installer]` root of their own (a temporary directory each), and no
  SeaTunnel: the installer actions put the fake distribution (tests/installer/distribution.py, served over real HTTP
  like archive.apache.org) on them; its `bin/seatunnel-cluster.sh` starts the Zeta emulator as one member of an
  emulated cluster (`--cluster-dir`, role from `-r`), on the ports the installer configured.

1. One agent, actions through the operator API: `installer.install` from a local tarball under `[installer]
   sources`, with the node's facts in the result; a prefix outside the root and a source outside the sources are
   refused; `installer.status`; `installer.uninstall`.
2. A declared cluster (`install: true`), two agents: `install_cluster` (master + worker) as one operation through
   the API; the cluster and its nodes registered with the installer's facts; `scale_out` to three; a streaming run;
   `scale_in` of the worker that runs it: the run is paused with a savepoint first and RUNNING again after, on the
   remaining worker; the node is gone from the cluster and its agent revoked.
3. `upgrade_cluster` of a master + worker cluster, batch by batch, masters first: the worker's new version does not
   start (on that node only), the installer rolls the worker back by itself, the operation stops and its
   compensation rolls back the master that had upgraded; the next try upgrades both and re-registers the version.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from installer.spec import Layout
from installer.steps import service
from tests.e2e.test_rolling_restart import STREAMING, Api, ControlPlane, free_port, spawn_agent, wait_for
from tests.installer.distribution import build_tarball, fake_java, serve

pytestmark = pytest.mark.timeout(600)

VERSION = "2.3.12"  # the version the control plane has a connector catalog for (jobs can run on it)
OLD = "2.3.11"  # what the upgrade test starts from
FINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "ROLLED_BACK"}
ACTIONS = [
    "installer.plan",
    "installer.install",
    "installer.upgrade",
    "installer.rollback",
    "installer.uninstall",
    "installer.status",
    "health.check",
]


class InstallNode:
    """An agent on a bare node: an install root, no SeaTunnel yet. The engine it will run answers on `http_port`
    (the emulator's member address is its REST address, so the agent's member_address is that)."""

    def __init__(self, name: str, directory: Path, sources: Path, java_home: Path) -> None:
        self.name = name
        self.directory = directory
        self.root = directory / "opt"
        self.prefix = self.root / "seatunnel"
        self.http_port = free_port()
        self.member_port = free_port()
        self.address = f"127.0.0.1:{self.http_port}"
        self.state_dir = directory / "state"
        self.config = directory / "agent.toml"
        self.log = directory / "agent.log"
        self.process: subprocess.Popen | None = None
        self.agent_id = ""
        directory.mkdir(parents=True, exist_ok=True)
        self.root.mkdir()
        self.config.write_text(
            "\n".join(
                [
                    f"member_address = '{self.address}'",
                    "[heartbeat]",
                    "poll_wait_seconds = 10",
                    "[seatunnel]",
                    f"home = '{self.prefix / 'current'}'",
                    f"engine_url = 'http://{self.address}'",
                    "[allowlist]",
                    f"types = {json.dumps(ACTIONS)}",
                    "[installer]",
                    f"root = '{self.root}'",
                    f"sources = ['{sources}']",
                    f"java_home = '{java_home}'",
                ]
            )
            + "\n"
        )

    def start_agent(self, server: str, token: str) -> None:
        self.process = spawn_agent(self.config, self.state_dir, self.log, server, token)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        try:  # the engine the installer started (its pid file says which) outlives the agent, as a unit would
            service.stop(Layout(self.prefix))
        except Exception:  # noqa: S110 - teardown of a node that may have nothing installed
            pass


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    cp = ControlPlane(tmp_path / "cp", "e2e_install")
    archive = tmp_path / "archive"
    cluster_dir = tmp_path / "cluster"
    cluster_dir.mkdir()
    build_tarball(archive / VERSION, VERSION, cluster_dir=cluster_dir)
    build_tarball(archive / OLD, OLD, cluster_dir=cluster_dir)
    dist, server = serve(archive)
    java = fake_java(tmp_path / "jdk11", 'openjdk version "11.0.2" 2019-01-15')
    nodes: list[InstallNode] = []
    try:
        cp.start()
        yield {
            "cp": cp,
            "api": Api(cp.url, cp.setup["token"]),
            "archive": archive,
            "mirror": dist.url,
            "java": java,
            "cluster_dir": cluster_dir,
            "nodes": nodes,
            "tmp": tmp_path,
        }
    finally:
        for node in nodes:
            node.stop()
        server.shutdown()
        server.server_close()
        cp.stop()


def _enrol(world: dict[str, Any], names: list[str], cluster_id: str | None) -> list[InstallNode]:
    api, cp = world["api"], world["cp"]
    nodes = [InstallNode(n, world["tmp"] / n, world["archive"], world["java"]) for n in names]
    world["nodes"].extend(nodes)
    for node in nodes:
        body: dict[str, Any] = {"description": node.name}
        if cluster_id:
            body["cluster_id"] = cluster_id
        node.start_agent(cp.url, api.post("agent-bootstrap-tokens/", body, status=201)["token"])

    def logs() -> str:
        return "\n".join(f"--- {n.name}\n{n.output()}" for n in world["nodes"]) + f"\n--- cp\n{cp.output()}"

    def registered() -> bool:
        for node in nodes:
            assert node.process is not None and node.process.poll() is None, logs()
        agents = {a["member_address"]: a for a in api.all("agents/")}
        found = [agents.get(n.address) for n in nodes]
        if not all(a is not None and a["status"] == "online" for a in found):
            return False
        for node, agent in zip(nodes, found, strict=True):
            assert agent is not None
            node.agent_id = agent["id"]
        return True

    wait_for(registered, f"{', '.join(names)} to register and be online", logs=logs)
    world["logs"] = logs
    return nodes


def _action(api: Api, node: InstallNode, type_: str, params: dict[str, Any], logs: Any) -> dict[str, Any]:
    asked = api.post(f"agents/{node.agent_id}/actions/", {"type": type_, "params": params}, status=201)
    return wait_for(
        lambda: (a := api.get(f"agent-actions/{asked['id']}/"))["finished_at"] and a,
        f"{type_} on {node.name} to finish",
        timeout=180,
        logs=logs,
    )


def _operation(api: Api, cluster_id: str, type_: str, params: dict[str, Any], logs: Any) -> dict[str, Any]:
    operation = api.post("operations/", {"type": type_, "cluster_id": cluster_id, "params": params}, status=202)
    finished = wait_for(
        lambda: (o := api.get(f"operations/{operation['id']}/"))["state"] in FINAL and o,
        f"{type_} to finish",
        timeout=300,
        every=0.5,
        logs=logs,
    )
    assert finished["state"] == "SUCCEEDED", json.dumps(finished, indent=1)[:8000] + "\n" + logs()
    return finished


def test_the_installer_actions_on_a_real_agent(world: dict[str, Any]) -> None:
    api = world["api"]
    (node,) = _enrol(world, ["solo"], None)
    logs = world["logs"]
    tarball = world["archive"] / VERSION / f"apache-seatunnel-{VERSION}-bin.tar.gz"

    # Refused by the node's policy, nothing changed: a prefix outside the install root, a source outside the sources.
    outside = _action(api, node, "installer.install", {"prefix": "/etc/seatunnel", "version": VERSION}, logs)
    assert (outside["state"], outside["error_code"]) == ("FAILED", "AGENT_PATH_OUTSIDE_INSTALL_ROOT"), outside
    escape = str(node.root / ".." / "elsewhere")
    sneaky = _action(api, node, "installer.install", {"prefix": escape, "version": VERSION}, logs)
    assert sneaky["error_code"] == "AGENT_PATH_OUTSIDE_INSTALL_ROOT", sneaky
    stray = world["tmp"] / "stray.tar.gz"
    stray.write_bytes(tarball.read_bytes())
    foreign = _action(
        api, node, "installer.install", {"prefix": str(node.prefix), "version": VERSION, "source": str(stray)}, logs
    )
    assert foreign["error_code"] == "AGENT_SOURCE_NOT_ALLOWED", foreign
    assert not node.prefix.exists()
    # The schema is checked before anything is signed: an ftp source never reaches the agent.
    bad = api.call(
        "post",
        f"agents/{node.agent_id}/actions/",
        {"type": "installer.install", "params": {"prefix": str(node.prefix), "version": VERSION, "source": "ftp://x"}},
        status=400,
    )
    assert bad["error"]["code"] == "AGENT_PARAMS_INVALID" and bad["error"]["details"]["field"] == "params.source"

    # A hybrid install from the local tarball (under [installer] sources): the core's result and the node's facts.
    params = {
        "prefix": str(node.prefix),
        "version": VERSION,
        "source": str(tarball),
        "http_port": node.http_port,
        "member_port": node.member_port,
        "health_timeout_seconds": 60,
    }
    planned = _action(api, node, "installer.plan", params, logs)
    assert planned["state"] == "SUCCEEDED", planned
    assert planned["result"]["result"]["refusals"] == [] and not node.prefix.exists()  # a plan changes nothing
    installed = _action(api, node, "installer.install", params, logs)
    assert installed["state"] == "SUCCEEDED", json.dumps(installed, indent=1)[:4000]
    result, facts = installed["result"]["result"], installed["result"]["facts"]
    assert result["operation"] == "install" and result["steps"]["health"]["version"] == VERSION
    assert facts["engine_version"] == VERSION and facts["installed_version"] == VERSION
    assert facts["role"] == "hybrid" and facts["member_address"] == node.address
    assert facts["rest_endpoint"] == f"http://127.0.0.1:{node.http_port}"
    assert facts["java_version"].startswith('openjdk version "11.0.2"')
    assert facts["cpu_count"] >= 1 and facts["memory_total_bytes"] > 0 and facts["disk"]["free_bytes"] > 0
    assert httpx.get(f"http://{node.address}/overview", timeout=5).json()["projectVersion"] == VERSION
    progress = api.get(f"agent-actions/{installed['id']}/")
    assert "health" in (progress.get("output_tail") or ""), progress  # the core's steps became the action's output

    status = _action(api, node, "installer.status", {"prefix": str(node.prefix)}, logs)
    assert status["result"]["result"]["current"] == VERSION and status["result"]["result"]["service"]["state"] == (
        "running"
    )
    removed = _action(api, node, "installer.uninstall", {"prefix": str(node.prefix)}, logs)
    assert removed["state"] == "SUCCEEDED", removed
    assert "versions" in removed["result"]["result"]["removed"] and not (node.prefix / "current").exists()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://{node.address}/overview", timeout=2)


def _emulated(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/emulator/cluster", timeout=10).json()


def test_install_a_cluster_scale_it_out_and_in_with_a_streaming_run_that_survives(world: dict[str, Any]) -> None:
    api = world["api"]

    # 1. The cluster is declared (nothing to connect to yet); its agents enrol naming it.
    cluster = api.post(
        "clusters/", {"name": "installed", "form": "bare_metal", "mode": "separated", "install": True}, status=201
    )
    assert cluster["endpoints"] == [] and cluster["engine_version"] == ""
    master, worker = _enrol(world, ["master", "worker1"], cluster["id"])
    logs = world["logs"]

    def entry(node: InstallNode, role: str) -> dict[str, Any]:
        return {"node": node.agent_id, "role": role, "http_port": node.http_port, "member_port": node.member_port}

    common = {"version": VERSION, "mirror": world["mirror"], "health_timeout_seconds": 90}

    # 2. install_cluster: the dry run shows the plan, then the operation runs it.
    body = {**common, "prefix": str(master.prefix), "nodes": [entry(master, "master"), entry(worker, "worker")]}
    # every node has its own root here; the prefix is per node
    body["nodes"][1]["prefix"] = str(worker.prefix)
    dry = api.post("operations/plan/", {"type": "install_cluster", "cluster_id": cluster["id"], "params": body})
    assert [s["key"] for s in dry["steps"]] == ["plan", "review", "masters", "workers", "register"], dry
    assert not master.prefix.exists() and not worker.prefix.exists()
    done = _operation(api, cluster["id"], "install_cluster", body, logs)
    registered = done["result"]["registered"]
    assert sorted(registered["nodes"]) == sorted([master.address, worker.address])
    # Live progress: the operation's websocket topic carries its steps and the agents' install actions (read here
    # from the log the topic replays).
    topic = world["cp"].probe("topic", done["id"])
    assert [e["data"]["step"] for e in topic if e["type"] == "operations.step_succeeded"] == [
        "plan",
        "review",
        "masters",
        "workers",
        "register",
    ]
    installs = [a for a in api.all(f"agent-actions/?operation={done['id']}") if a["type"] == "installer.install"]
    assert {e["stream"] for e in topic} >= {f"action-{a['id']}" for a in installs}
    for install in installs:  # the core's steps arrive as the action's output while it runs
        output = "".join(chunk["text"] for chunk in api.get(f"agent-actions/{install['id']}/")["output"])
        assert "preflight: done" in output and "health: done" in output, output

    # 3. Registered with what the installer gathered: endpoints, version, mode, nodes with roles and facts.
    cluster = api.get(f"clusters/{cluster['id']}/")
    assert cluster["endpoints"] == [f"http://127.0.0.1:{master.http_port}"]
    assert cluster["engine_version"] == VERSION and cluster["mode"] == "separated"
    nodes = {n["address"]: n for n in api.all(f"clusters/{cluster['id']}/nodes/")}
    assert {a: n["role"] for a, n in nodes.items()} == {master.address: "master", worker.address: "worker"}
    members = sorted(
        m["address"] for m in _emulated(f"http://{master.address}")["members"] if m["live"]
    )  # the engine agrees
    assert members == sorted([master.address, worker.address])

    # 4. scale_out: a second worker, on a new agent of the cluster, joins with the cluster's member list.
    (extra,) = _enrol(world, ["worker2"], cluster["id"])
    grown = {**common, "prefix": str(extra.prefix), "nodes": [entry(extra, "worker")]}
    del grown["version"]  # the cluster's version by default
    _operation(api, cluster["id"], "scale_out", grown, logs)
    nodes = {n["address"]: n for n in api.all(f"clusters/{cluster['id']}/nodes/")}
    assert nodes[extra.address]["role"] == "worker"
    live = {m["address"] for m in _emulated(f"http://{master.address}")["members"] if m["live"]}
    assert live == {master.address, worker.address, extra.address}

    # 5. A streaming run, RUNNING on one of the workers.
    job = api.post("jobs/", {"name": "stream", "cluster_id": cluster["id"], "config": STREAMING}, status=201)
    run = api.post(f"jobs/{job['id']}/runs/", status=202)
    running = wait_for(
        lambda: (r := api.get(f"runs/{run['id']}/"))["state"] == "RUNNING" and r, "the run RUNNING", logs=logs
    )

    def placed() -> str | None:
        jobs = _emulated(f"http://{master.address}")["jobs"]
        found = next((j for j in jobs if str(j["jobId"]) == str(running["engine_job_id"])), None)
        return found["worker"] if found and found.get("worker") else None

    on = wait_for(placed, "the job's tasks to be placed")
    leaving = worker if on == worker.address else extra
    staying = extra if leaving is worker else worker

    # 6. scale_in the worker that runs it: paused with a savepoint before the node stops, RUNNING again after.
    shrunk = _operation(api, cluster["id"], "scale_in", {"nodes": [leaving.agent_id]}, logs)
    steps = {s["key"]: s for s in shrunk["steps"]}
    assert steps["pause-streaming-runs"]["result"]["paused"] == [run["id"]]
    assert steps["resume-streaming-runs"]["result"]["resumed"] == [run["id"]]
    # the savepoint was taken (PAUSED, SAVEPOINT_DONE) before the node began to stop, and the run came back after
    topic = world["cp"].probe("topic", shrunk["id"])
    began = next(e for e in topic if e["type"] == "operations.step_started" and e["data"]["step"] == "b1.uninstall")
    ended = next(e for e in topic if e["type"] == "operations.step_succeeded" and e["data"]["step"] == "b1.uninstall")
    run_log = world["cp"].probe("stream", f"run-{run['id']}")
    changes = [e for e in run_log if e["type"] == "jobs.run_state_changed"]
    paused = [e for e in changes if e["data"]["state"] == "PAUSED"]
    assert len(paused) == 1 and paused[0]["position"] < began["position"], [c["data"]["state"] for c in changes]
    assert paused[0]["data"]["engine_state"] == "SAVEPOINT_DONE"
    assert [e["data"]["savepoint"] for e in run_log if e["type"] == "jobs.run_stop_requested"] == [True]
    back = [e for e in changes if e["position"] > paused[0]["position"] and e["data"]["state"] == "RUNNING"]
    assert back and back[0]["position"] > ended["position"]
    after = wait_for(
        lambda: (r := api.get(f"runs/{run['id']}/"))["state"] == "RUNNING" and r, "the run RUNNING again", logs=logs
    )
    assert after["attempts"] == 2
    wait_for(lambda: placed() == staying.address, "the job on the remaining worker")
    nodes = {n["address"]: n for n in api.all(f"clusters/{cluster['id']}/nodes/")}
    assert set(nodes) == {master.address, staying.address}
    assert not (leaving.prefix / "current").exists()
    agents = {a["id"]: a for a in api.all("agents/")}
    assert agents[leaving.agent_id]["status"] == "revoked"
    live = {m["address"] for m in _emulated(f"http://{master.address}")["members"] if m["live"]}
    assert live == {master.address, staying.address}
    # the revoked agent of the node taken out does not stand in the way of the next operation on the cluster
    dry = api.post("operations/plan/", {"type": "upgrade_cluster", "cluster_id": cluster["id"], "params": common})
    upgraded = [s["targets"][0]["agent_id"] for s in dry["steps"] if s["kind"] == "installer.upgrade"]
    assert upgraded == [master.agent_id, staying.agent_id]


def _overview_version(node: InstallNode) -> str:
    return str(httpx.get(f"http://{node.address}/overview", timeout=5).json()["projectVersion"])


def test_upgrade_a_cluster_batch_by_batch_and_roll_back_a_failed_one(world: dict[str, Any]) -> None:
    api = world["api"]
    cluster = api.post(
        "clusters/", {"name": "upgraded", "form": "bare_metal", "mode": "separated", "install": True}, status=201
    )
    master, worker = _enrol(world, ["master", "worker"], cluster["id"])
    logs = world["logs"]
    nodes = [
        {"node": n.agent_id, "role": r, "http_port": n.http_port, "member_port": n.member_port, "prefix": str(n.prefix)}
        for n, r in ((master, "master"), (worker, "worker"))
    ]
    install = {"version": OLD, "mirror": world["mirror"], "health_timeout_seconds": 90, "nodes": nodes}
    _operation(api, cluster["id"], "install_cluster", install, logs)
    assert api.get(f"clusters/{cluster['id']}/")["engine_version"] == OLD

    # 1. The worker's 2.3.12 will not start on that node: batch 2 fails after batch 1 (the master) upgraded.
    (worker.prefix / f"BREAK-{VERSION}").write_text("this node's new engine exits at once\n")
    upgrade = {"version": VERSION, "mirror": world["mirror"], "health_timeout_seconds": 30}
    asked = api.post(
        "operations/", {"type": "upgrade_cluster", "cluster_id": cluster["id"], "params": upgrade}, status=202
    )
    assert [s["key"] for s in asked["steps"]] == [
        "plan",
        "review",
        "pause-streaming-runs",
        "b1.upgrade",
        "b2.upgrade",
        "resume-streaming-runs",
        "register",
    ]
    assert [s["targets"][0]["agent_id"] for s in asked["steps"] if s["key"].endswith(".upgrade")] == [
        master.agent_id,
        worker.agent_id,
    ]  # masters first
    failed = wait_for(
        lambda: (o := api.get(f"operations/{asked['id']}/"))["state"] in FINAL and o,
        "the failed upgrade to settle",
        timeout=300,
        logs=logs,
    )
    steps = {s["key"]: s for s in failed["steps"]}
    assert failed["state"] == "ROLLED_BACK", json.dumps(failed, indent=1)[:6000]
    assert steps["b2.upgrade"]["state"] == "FAILED"
    assert steps["b2.upgrade"]["error_code"] == "INSTALLER_ROLLED_BACK", steps["b2.upgrade"]
    assert steps["b1.upgrade"]["state"] == "COMPENSATED" and steps["pause-streaming-runs"]["state"] == "COMPENSATED"
    assert _overview_version(master) == OLD and _overview_version(worker) == OLD  # both back where they were
    # The cluster's version is an observation (ADR 0006): a health poll while the master ran the new version may
    # have recorded it; the next poll (every 15 s) sees the rolled-back one.
    wait_for(
        lambda: api.get(f"clusters/{cluster['id']}/")["engine_version"] == OLD,
        "the cluster observed at its old version again",
        timeout=90,
        logs=logs,
    )
    rollbacks = [a for a in api.all(f"agent-actions/?operation={asked['id']}") if a["type"] == "installer.rollback"]
    assert [(a["agent_id"], a["state"]) for a in rollbacks] == [(master.agent_id, "SUCCEEDED")]

    # 2. The node is fixed: the same upgrade goes through and the cluster is registered at the new version.
    (worker.prefix / f"BREAK-{VERSION}").unlink()
    _operation(api, cluster["id"], "upgrade_cluster", upgrade, logs)
    assert _overview_version(master) == VERSION and _overview_version(worker) == VERSION
    assert api.get(f"clusters/{cluster['id']}/")["engine_version"] == VERSION
    facts = {n["address"]: n["facts"] for n in api.all(f"clusters/{cluster['id']}/nodes/")}
    assert {a: f["installed_version"] for a, f in facts.items()} == {master.address: VERSION, worker.address: VERSION}
