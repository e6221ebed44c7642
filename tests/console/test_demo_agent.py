"""The demo agent's files (controlplane/console/demo_agent.py): the generated config is one the agent accepts,
and a stored credential is kept only while it names this server and an agent that is not revoked."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from agent import catalog
from agent import config as agent_config
from agent.facts import FactCollector
from controlplane.agents.actions import do_issue_bootstrap_token, do_register_agent, do_revoke_agent
from controlplane.console import demo_agent
from controlplane.eventlog.metadata import Metadata
from controlplane.tenancy.models import Workspace

pytestmark = pytest.mark.django_db

SERVER = "http://127.0.0.1:18700"


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    call_command("seed_demo", stdout=io.StringIO())
    return tmp_path


def prepare(data_dir: Path, server: str = SERVER) -> tuple[demo_agent.DemoAgent, str]:
    return demo_agent.prepare(
        data_dir, server=server, host="127.0.0.1", zeta_port=18780, python=sys.executable, base_dir=Path.cwd()
    )


def register() -> str:
    workspace = Workspace.objects.get(tenant__slug="demo", slug="default")
    meta = Metadata.for_system(workspace.tenant_id, workspace_id=workspace.id, reason="test")
    _, token = do_issue_bootstrap_token(metadata=meta, tenant_id=workspace.tenant_id, workspace_id=workspace.id)
    return do_register_agent(
        bootstrap_token=token,
        hostname="node-1",
        agent_version="test",
        member_address="127.0.0.1:5801",
        allowlist=["service.status"],
        facts={},
    ).agent_id


def store_credential(demo: demo_agent.DemoAgent, agent_id: str, server: str = SERVER) -> None:
    demo.state_dir.mkdir(parents=True, exist_ok=True)
    demo.credential_path.write_text(json.dumps({"server": server, "agent_id": agent_id}))
    demo.token_path.write_text("stbt_spent\n")


def test_the_config_is_one_the_agent_accepts(data_dir):
    demo, note = prepare(data_dir)
    assert note.startswith("registers with a one-time bootstrap token")
    parsed = agent_config.load(demo.config_path)
    assert parsed.server == SERVER and parsed.state_dir == data_dir / "demo-agent" / "state"
    assert parsed.member_address == "127.0.0.1:5801"  # the emulator's one member: bind host, port 5801
    assert parsed.engine_url == "http://127.0.0.1:18780"
    assert parsed.allowlist == frozenset(demo_agent.SAFE_ACTIONS)
    assert "plugin.install" not in parsed.allowlist and parsed.allowlist <= set(catalog.SCHEMAS)
    service = parsed.service
    assert service["manager"] == "process" and service["with_agent"] is True
    assert service["command"][1:] == ["-m", "controlplane.seatunnel.emulator", "--host", "127.0.0.1", "--port", "18780"]
    assert service["ready_url"] == "http://127.0.0.1:18780/overview"
    assert demo.argv()[-2:] == ["--bootstrap-token-file", str(demo.token_path)]
    assert parsed.seatunnel_home == data_dir / "demo-agent" / "seatunnel"


def test_the_node_has_a_seatunnel_home_with_the_jdbc_connector_and_no_driver(data_dir, tmp_path):
    demo, _ = prepare(data_dir)
    home = demo.home
    # what the demo agent's heartbeat reports: the agent's own collector on the home prepare laid out
    found = FactCollector(
        seatunnel_home=home, engine_url=None, configured_version=None, manager=None, fallback_disk_path=tmp_path
    ).collect()
    assert [jar["artifact"] for jar in found["connector_jars"]] == [
        "connector-console",
        "connector-fake",
        "connector-jdbc",
        "seatunnel-transforms-v2",
    ]
    assert {jar["version"] for jar in found["connector_jars"]} == {demo_agent.ENGINE_VERSION}
    assert found["lib_jars"] == [f"seatunnel-hadoop3-3.1.4-uber-{demo_agent.ENGINE_VERSION}-optional.jar"]
    assert found["seatunnel_version"] == demo_agent.ENGINE_VERSION
    mapping = (home / "connectors" / "plugin-mapping.properties").read_text()
    assert "seatunnel.source.Jdbc = connector-jdbc" in mapping
    # a driver dropped in by hand survives the next start
    (home / "lib" / "mysql-connector-j-8.0.33.jar").write_bytes(b"")
    prepare(data_dir)
    assert (home / "lib" / "mysql-connector-j-8.0.33.jar").exists()


def test_a_live_credential_is_kept_and_the_spent_token_removed(data_dir):
    demo, _ = prepare(data_dir)
    agent_id = register()
    store_credential(demo, agent_id)
    demo, note = prepare(data_dir)
    assert note == f"registered as agent {agent_id}; reuses its credential"
    assert demo.registered_id() == agent_id
    assert not demo.token_path.exists()


def test_a_credential_of_another_server_is_dropped(data_dir):
    demo, _ = prepare(data_dir)
    store_credential(demo, register(), server="http://127.0.0.1:9999")
    demo, note = prepare(data_dir)
    assert "its credential belonged to http://127.0.0.1:9999: registering anew" in note
    assert not demo.state_dir.exists() and demo.registered_id() is None
    assert not demo.token_path.exists()


def test_a_revoked_agent_registers_anew(data_dir):
    demo, _ = prepare(data_dir)
    agent_id = register()
    store_credential(demo, agent_id)
    workspace = Workspace.objects.get(tenant__slug="demo", slug="default")
    meta = Metadata.for_system(workspace.tenant_id, workspace_id=workspace.id, reason="test")
    do_revoke_agent(metadata=meta, agent_id=agent_id, reason="test")
    demo, note = prepare(data_dir)
    assert f"agent {agent_id} is revoked or unknown here: registering anew" in note
    assert demo.registered_id() is None


def test_a_leftover_emulator_is_recognised_by_its_pid_file(tmp_path):
    """What lets `make run` start after an agent was killed while its emulator kept the port (the agent adopts
    it): a live process with the recorded start time and port; a recycled pid or another port is not it."""
    proc = subprocess.Popen(["sleep", "60"])
    try:
        ticks = int(Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        pid_file = tmp_path / "demo-agent" / "state" / "service.pid"
        pid_file.parent.mkdir(parents=True)
        command = [sys.executable, "-m", "controlplane.seatunnel.emulator", "--port", "18780"]
        pid_file.write_text(json.dumps({"pid": proc.pid, "start_ticks": ticks, "command": command}))
        assert demo_agent.leftover_service(tmp_path, 18780) == proc.pid
        assert demo_agent.leftover_service(tmp_path, 18781) is None
        pid_file.write_text(json.dumps({"pid": proc.pid, "start_ticks": ticks + 1, "command": command}))
        assert demo_agent.leftover_service(tmp_path, 18780) is None  # a recycled pid
        pid_file.write_text(json.dumps({"pid": proc.pid, "start_ticks": ticks, "command": command}))
    finally:
        proc.kill()
        proc.wait()
    assert demo_agent.leftover_service(tmp_path, 18780) is None
