"""The compose form: `docker-compose config` accepts it, and the cluster it describes is the one asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from installer.forms import Deployment
from installer.forms import compose as form
from tests.installer.forms import tools


def _config(directory: Path) -> dict:
    """`docker-compose config`: parses, validates against the compose schema and normalises, offline."""
    result = tools.run([tools.require("docker-compose"), "config"], cwd=str(directory))
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.fixture
def rendered(tmp_path: Path) -> tuple[Deployment, Path, dict[str, str]]:
    d = Deployment(version="2.3.12", masters=2, workers=3, heap="3g", worker_heap="6g", nofile=200000)
    files = form.render_compose(d)
    return d, tools.write_tree(tmp_path / "project", files), files


def test_docker_compose_config_accepts_it(rendered: tuple[Deployment, Path, dict[str, str]]) -> None:
    _, directory, _ = rendered
    config = _config(directory)
    assert sorted(config["services"]) == ["master-1", "master-2", "worker-1", "worker-2", "worker-3"]
    assert sorted(config["volumes"]) == [
        "checkpoints",
        "master-1-logs",
        "master-2-logs",
        "worker-1-logs",
        "worker-2-logs",
        "worker-3-logs",
    ]
    worker = config["services"]["worker-2"]
    # Workers wait for every master's health check (masters first, ZETA_FACTS.md §5).
    assert worker["depends_on"] == {
        "master-1": {"condition": "service_healthy"},
        "master-2": {"condition": "service_healthy"},
    }
    assert worker["command"] == ["/opt/seatunnel/bin/seatunnel-cluster.sh", "-r", "worker"]
    assert worker["image"] == "apache/seatunnel:2.3.12"
    assert worker["stop_grace_period"] == "120s"
    assert worker["restart"] == "unless-stopped"
    assert worker["ulimits"]["nofile"] == {"soft": 200000, "hard": 200000}
    assert worker["healthcheck"]["test"][1].startswith("curl -fsS http://localhost:8080/overview")
    assert "ports" not in worker
    assert [p["published"] for name in ("master-1", "master-2") for p in config["services"][name]["ports"]] == [
        8080,
        8081,
    ]


def test_docker_compose_config_rejects_a_broken_file(rendered: tuple[Deployment, Path, dict[str, str]]) -> None:
    """The validator can fail: a misspelt key is refused."""
    _, directory, files = rendered
    (directory / form.COMPOSE_FILE).write_text(files[form.COMPOSE_FILE].replace("stop_grace_period", "stop_grace"))
    result = tools.run([tools.require("docker-compose"), "config", "-q"], cwd=str(directory))
    assert result.returncode != 0
    assert "stop_grace" in result.stderr


def test_every_mounted_config_file_is_rendered(rendered: tuple[Deployment, Path, dict[str, str]]) -> None:
    _, _, files = rendered
    document = yaml.safe_load(files[form.COMPOSE_FILE])
    for name, service in document["services"].items():
        binds = [v.split(":") for v in service["volumes"] if v.startswith("./")]
        assert len(binds) == 4, name
        for source, target, mode in binds:
            assert source.removeprefix("./") in files, (name, source)
            assert target.startswith("/opt/seatunnel/config/")
            assert mode == "ro"
    role_files = {
        name: {v.split(":")[0].removeprefix("./config/") for v in s["volumes"] if v.startswith("./")}
        for name, s in document["services"].items()
    }
    assert "hazelcast-master.yaml" in role_files["master-1"]
    assert "jvm_master_options" in role_files["master-1"]
    assert "hazelcast-worker.yaml" in role_files["worker-1"]
    assert "hazelcast-master.yaml" not in role_files["worker-1"]


def test_member_list_names_every_service(rendered: tuple[Deployment, Path, dict[str, str]]) -> None:
    _, _, files = rendered
    expected = ["master-1:5801", "master-2:5801", "worker-1:5801", "worker-2:5801", "worker-3:5801"]
    for file in ("config/hazelcast-master.yaml", "config/hazelcast-worker.yaml"):
        hazelcast = yaml.safe_load(files[file])["hazelcast"]
        join = hazelcast["network"]["join"]
        assert join["tcp-ip"] == {"enabled": True, "member-list": expected}
        assert join["multicast"] == {"enabled": False}
        # Inside its container every member listens on the master port.
        assert hazelcast["network"]["port"] == {"auto-increment": False, "port": 5801}
        assert hazelcast["cluster-name"] == "seatunnel"
    client = yaml.safe_load(files["config/hazelcast-client.yaml"])["hazelcast-client"]
    assert client["network"]["cluster-members"] == ["master-1:5801", "master-2:5801"]  # clients list masters only


def test_engine_settings_in_the_mounted_files(rendered: tuple[Deployment, Path, dict[str, str]]) -> None:
    _, _, files = rendered
    engine = yaml.safe_load(files["config/seatunnel.yaml"])["seatunnel"]["engine"]
    assert engine["http"] == {"enable-http": True, "port": 8080, "enable-dynamic-port": False}
    assert engine["checkpoint"]["storage"]["plugin-config"]["namespace"] == "/opt/seatunnel/checkpoints/"
    assert engine["telemetry"]["metric"]["enabled"] is True
    assert files["config/jvm_master_options"].splitlines()[1:3] == ["-Xms3g", "-Xmx3g"]
    assert files["config/jvm_worker_options"].splitlines()[1:3] == ["-Xms6g", "-Xmx6g"]


def test_no_workers_renders_a_masters_only_cluster(tmp_path: Path) -> None:
    d = Deployment(version="2.3.12", masters=1, workers=0, image="registry.local/seatunnel:2.3.12-site")
    files = form.render_compose(d)
    assert "config/hazelcast-worker.yaml" not in files
    config = _config(tools.write_tree(tmp_path, files))
    assert list(config["services"]) == ["master-1"]
    assert config["services"]["master-1"]["image"] == "registry.local/seatunnel:2.3.12-site"
    member_list = yaml.safe_load(files["config/hazelcast-master.yaml"])["hazelcast"]["network"]["join"]["tcp-ip"]
    assert member_list["member-list"] == ["master-1:5801"]
