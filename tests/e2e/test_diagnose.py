"""Issue #15's "Diagnose" with real processes only: the control plane as deployed (`manage.py runcontrolplane`: web,
worker, beat), a real agent (`python -m agent`) running one member of an emulated 2.3.12 cluster, and a job whose
run the emulator fails with an injected fault (the JDBC driver is missing).

Everything through the API: diagnose the cluster → the archive is downloadable, its SHA256SUMS and manifest verify,
the job config's password (in the node's config folder and in the job) appears nowhere in it, the missing driver is
recorded as a finding; then its one-click fix (a rolling restart) is planned, confirmed and runs to the end.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from controlplane.seatunnel.emulator import faults
from controlplane.seatunnel.emulator.process import EmulatorMember
from tests.e2e.test_rolling_restart import EMULATOR_ARGS, ENGINE_VERSION, FINAL, Api, ControlPlane, Node, free_port
from tests.e2e.test_rolling_restart import wait_for as wait_on

pytestmark = pytest.mark.timeout(300)

CONFIGS = Path(__file__).resolve().parents[3] / "shared" / "seatunnel" / "configs"
JDBC_CONFIG = (CONFIGS / "jdbc_mysql_source_and_sink.conf").read_text()
PASSWORD = "Abc!@#135_seatunnel"
ACTIONS = ["service.status", "service.start", "service.restart", "health.check", "diagnostics.collect"]


@pytest.fixture
def place(tmp_path: Path) -> Iterator[dict]:
    cp = ControlPlane(tmp_path / "cp", "e2e_diagnose")
    nodes: list[Node] = []
    try:
        cp.start()
        yield {"cp": cp, "api": Api(cp.url, cp.setup["token"]), "tmp": tmp_path, "nodes": nodes}
    finally:
        for node in nodes:
            node.stop()
        cp.stop()


def seatunnel_home(home: Path) -> Path:
    """The node's SeaTunnel home (its Node lays it out) as the agent reads it for a bundle: configs (one of them
    a job config with its password, as operators leave them) and an engine log."""
    (home / "config" / "seatunnel.yaml").write_text("seatunnel:\n  engine:\n    backup-count: 1\n")
    (home / "config" / "jdbc_mysql_source_and_sink.conf").write_text(JDBC_CONFIG)
    (home / "logs" / "seatunnel-engine-server.log").write_text("2026-12-04 10:00:00,000 INFO  [Server] started\n")
    return home


def test_diagnose_a_cluster_with_a_failed_run_then_apply_the_one_click_fix(place):
    cp, api, tmp = place["cp"], place["api"], place["tmp"]
    cluster_dir = tmp / "cluster"
    cluster_dir.mkdir()
    port = free_port()
    member = EmulatorMember(cluster_dir, port=port, args=EMULATOR_ARGS).start()
    try:
        cluster = api.post(
            "clusters/", {"name": "one", "form": "bare_metal", "mode": "hybrid", "endpoints": [member.url]}, status=201
        )
    finally:
        member.stop()
    assert cluster["engine_version"] == ENGINE_VERSION
    node = Node("node1", tmp / "node1", cluster_dir, port)
    place["nodes"].append(node)
    seatunnel_home(node.home)
    text = node.config.read_text()
    node.config.write_text(re.sub(r"(?m)^types = .*$", f"types = {json.dumps(ACTIONS)}", text))
    assert "diagnostics.collect" in node.config.read_text()
    token = api.post("agent-bootstrap-tokens/", {"cluster_id": cluster["id"], "description": "n1"}, status=201)["token"]
    node.start_agent(cp.url, token)

    def logs() -> str:
        return f"--- agent\n{node.output()}\n--- control plane\n{cp.output()}"

    agent = wait_on(
        lambda: next(
            (a for a in api.get(f"agents/?cluster_id={cluster['id']}")["results"] if a["status"] == "online"), None
        ),
        "the agent online",
        logs=logs,
    )
    started = api.post(f"agents/{agent['id']}/actions/", {"type": "service.start", "params": {}}, status=201)
    done = wait_on(lambda: (a := api.get(f"agent-actions/{started['id']}/"))["finished_at"] and a, "service.start")
    assert done["state"] == "SUCCEEDED", done

    # 1. A job the emulator fails: the JDBC driver is missing (the fault injection of docs/EMULATOR.md).
    config = JDBC_CONFIG.replace(
        'job.mode = "BATCH"', f'job.mode = "BATCH"\n  {faults.ENV_FAULT} = "{faults.MISSING_JDBC_DRIVER}"'
    )
    job = api.post("jobs/", {"name": "jdbc", "cluster_id": cluster["id"], "config": config}, status=201)
    run = api.post(f"jobs/{job['id']}/runs/", status=202)
    wait_on(lambda: api.get(f"runs/{run['id']}/")["state"] == "FAILED", "the run FAILED", logs=logs)

    # 2. Diagnose the cluster.
    operation = api.post("operations/", {"type": "diagnose", "cluster_id": cluster["id"], "params": {}}, status=202)
    finished = wait_on(
        lambda: (o := api.get(f"operations/{operation['id']}/"))["state"] in FINAL and o, "the diagnosis", logs=logs
    )
    assert finished["state"] == "SUCCEEDED", finished
    archive = api.get(f"diagnostic-archives/{operation['id']}/")
    assert archive["subject_kind"] == "cluster" and archive["state"] == "available"

    # 3. Download it (streamed) and verify it.
    response = api.client.get(f"{api.base}diagnostic-archives/{archive['id']}/download/")
    assert response.status_code == 200 and response.headers["content-type"] == "application/gzip"
    assert hashlib.sha256(response.content).hexdigest() == archive["sha256"] == response.headers["x-content-sha256"]
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as tar:
        files = {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]
    for line in files["SHA256SUMS"].decode().splitlines():
        digest, name = line.split("  ", 1)
        assert hashlib.sha256(files[name]).hexdigest() == digest, name
    manifest = json.loads(files["manifest.json"])
    assert {f["path"] for f in manifest["files"]} | {"manifest.json", "SHA256SUMS"} == set(files)
    folder = f"nodes/{agent['hostname']}"  # the node's bundle, under the host name its agent reported
    assert f"{folder}/logs/seatunnel-engine-server.log" in files, (sorted(files), manifest["failures"])
    assert b"***REDACTED***" in files[f"{folder}/config/jdbc_mysql_source_and_sink.conf"]
    assert {"engine/overview.json", "engine/members.json", f"engine/runs/{run['id']}/error.txt"} <= set(files)
    for name, content in files.items():
        assert PASSWORD.encode() not in content, name

    # 4. The fault is recorded, for the cluster and with the archive.
    findings = api.get(f"findings/?cluster_id={cluster['id']}")["results"]
    best = findings[0]
    assert best["fingerprint_id"] == "jdbc_driver_missing" and best["archive_id"] == archive["id"]
    assert best["one_click"]["type"] == "rolling_restart"
    assert api.get(f"diagnostic-archives/{archive['id']}/")["findings"][0]["id"] == best["id"]

    # 5. Its one-click fix: planned, confirmed with the plan's hash, run to the end.
    plan = api.post(f"findings/{best['id']}/fix-plan/", {})
    assert plan["operation"]["type"] == "rolling_restart"
    fix = api.post(f"findings/{best['id']}/fix/", {"plan_hash": plan["plan_hash"]}, status=202)
    restarted = wait_on(
        lambda: (o := api.get(f"operations/{fix['operation_id']}/"))["state"] in FINAL and o,
        "the rolling restart",
        timeout=180,
        logs=logs,
    )
    assert restarted["state"] == "SUCCEEDED", restarted
    assert api.get(f"findings/{best['id']}/")["fixes"][0]["operation_id"] == fix["operation_id"]
    assert httpx.get(f"{node.url}/overview", timeout=10).status_code == 200
