"""Install, upgrade, automatic rollback, rollback by hand and uninstall, with the process form, against the fake
distribution served over real HTTP; the engine is the Zeta emulator, checked through its REST API."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest
import yaml

from installer import errors, run
from installer.errors import InstallerError
from installer.journal import Journal, RunLock
from installer.progress import Recorder
from installer.spec import Layout, parse_members
from installer.steps import service
from tests.installer.conftest import BROKEN, LYING, V1, V2


def overview(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/overview", timeout=5) as answer:
        return json.loads(answer.read())


def engine_pid(prefix: Path) -> int | None:
    return service.running_pid(Layout(prefix))


def test_install_with_the_process_form_is_healthy(make_spec, prefix, dist_server, java11):
    spec = make_spec(V1)
    recorder = Recorder()
    result = run.install(spec, reporter=recorder)

    layout = Layout(prefix)
    assert os.readlink(layout.current) == f"versions/{V1}"
    assert result["steps"]["health"] == {
        "version": V1, "workers": 1, "members": 1, "url": f"http://127.0.0.1:{spec.http_port}",
    }  # fmt: skip
    assert overview(spec.http_port)["projectVersion"] == V1
    # fetched from the archive layout with its checksum, and the signature honestly not checked (no .asc)
    assert (f"/{V1}/apache-seatunnel-{V1}-bin.tar.gz", None) in dist_server.requests
    assert result["steps"]["verify"]["signature"].startswith("not checked")
    assert any("signature was not checked" in note for note in recorder.notes)

    config = layout.current / "config"
    seatunnel = yaml.safe_load((config / "seatunnel.yaml").read_text())["seatunnel"]["engine"]
    assert seatunnel["http"] == {"enable-http": True, "port": spec.http_port, "enable-dynamic-port": False}
    assert seatunnel["telemetry"]["metric"]["enabled"] is True
    assert seatunnel["checkpoint"]["storage"]["plugin-config"] == {
        "namespace": f"{prefix}/data/checkpoint/", "storage.type": "hdfs", "fs.defaultFS": "file:///",
    }  # fmt: skip
    hazelcast = yaml.safe_load((config / "hazelcast.yaml").read_text())["hazelcast"]
    assert hazelcast["network"]["port"]["port"] == spec.member_port
    assert hazelcast["network"]["join"]["tcp-ip"]["member-list"] == [f"localhost:{spec.member_port}"]
    assert (config / "log4j2.properties").read_text().startswith("rootLogger.level = INFO")

    # the engine was started through `current`, in the foreground, as a hybrid (no -r), with our JAVA_HOME
    started = json.loads((prefix / "logs" / "fake-engine.json").read_text())
    assert started["argv"] == [] and started["java_home"] == str(java11)
    assert started["home"] == str(prefix / "current")

    record = Journal.load(layout.journal)
    assert record is not None and record.status == "done"
    assert [s.name for s in record.steps] == [
        "preflight", "fetch", "verify", "unpack", "connectors", "configure", "service", "switch", "start",
        "health", "record",
    ]  # fmt: skip

    # installing the same version again is a no-op that finds everything done and the engine running
    pid = engine_pid(prefix)
    again = run.install(spec)
    assert again["steps"]["start"]["already"] is True and engine_pid(prefix) == pid
    assert again["steps"]["unpack"]["already"] is True


def test_upgrade_keeps_the_previous_version_and_rollback_by_hand_returns_to_it(make_spec, prefix):
    run.install(make_spec(V1))
    old_pid = engine_pid(prefix)
    calls: list[tuple[str, dict]] = []
    hooks = run.Hooks(
        before_switch=lambda info: calls.append(("before", dict(info, served=overview(make_spec().http_port)))),
        after_switch=lambda info: calls.append(("after", dict(info, served=overview(make_spec().http_port)))),
    )
    result = run.upgrade(make_spec(V2), hooks=hooks)

    layout = Layout(prefix)
    assert result["previous"] == V1 and result["change"] == "patch"
    assert os.readlink(layout.current) == f"versions/{V2}"
    assert (layout.versions / V1 / "bin" / "seatunnel-cluster.sh").exists()  # the previous version is kept
    assert (layout.backups / V1 / "config" / "seatunnel.yaml").exists()
    assert overview(make_spec().http_port)["projectVersion"] == V2
    assert engine_pid(prefix) not in (None, old_pid)
    # the savepoint hook ran while the old version still served, the resume hook once the new one did
    assert [(name, info["from"], info["to"], info["served"]["projectVersion"]) for name, info in calls] == [
        ("before", V1, V2, V1),
        ("after", V1, V2, V2),
    ]

    back = run.rollback(prefix)
    assert back["version"] == V1 and back["rollback"]["healthy"] is True
    assert os.readlink(layout.current) == f"versions/{V1}"
    assert overview(make_spec().http_port)["projectVersion"] == V1
    assert run.status(prefix)["previous"] == V2


def test_an_upgrade_that_is_not_healthy_rolls_back_by_itself(make_spec, prefix):
    run.install(make_spec(V1))
    layout = Layout(prefix)
    running_config = layout.versions / V1 / "config" / "seatunnel.yaml"
    before = running_config.read_bytes()

    def edit_after_backup(info: dict) -> None:  # the config changes after the backup: the rollback restores it
        running_config.write_text("seatunnel: {engine: {}}\n")

    with pytest.raises(InstallerError) as caught:
        run.upgrade(make_spec(BROKEN), hooks=run.Hooks(before_switch=edit_after_backup))
    error = caught.value
    assert error.code == errors.ROLLED_BACK and error.exit_code == errors.EXIT_HEALTH
    assert "exited before it was healthy" in error.message and f"rolled back to {V1}" in error.message
    assert error.detail["rollback"]["healthy"] is True
    assert os.readlink(layout.current) == f"versions/{V1}"
    assert overview(make_spec().http_port)["projectVersion"] == V1
    assert running_config.read_bytes() == before
    assert error.detail["rollback"]["restore"] == {"restored": ["seatunnel.yaml"]}
    record = Journal.load(layout.journal)
    assert record is not None and record.status == "rolled_back"
    status = run.status(prefix)
    assert status["current"] == V1 and status["service"]["state"] == "running"
    assert status["health"]["version"] == V1


def test_uninstall_keeps_logs_and_data_unless_purged(make_spec, prefix):
    run.install(make_spec(V1))
    pid = engine_pid(prefix)
    result = run.uninstall(prefix)
    assert result["stopped"]["stopped_pid"] == pid
    assert not (prefix / "current").is_symlink() and not (prefix / "versions").exists()
    assert sorted(result["kept"]) == ["data", "logs"] and (prefix / "logs" / "fake-engine.json").exists()
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    run.uninstall(prefix, purge=True)
    assert not prefix.exists()
    with pytest.raises(InstallerError) as caught:
        run.uninstall(prefix)
    assert caught.value.code == errors.NOT_INSTALLED


def test_a_master_gets_its_own_files_and_role_flag(make_spec, prefix):
    members = "10.0.0.1:5801,10.0.0.2:5801,10.0.0.3:5802"
    spec = make_spec(
        V1, role="master", members=parse_members(members), cluster_name="prod", heap="3g",
        checkpoint_dir="s3a://bucket/seatunnel/checkpoint",
    )  # fmt: skip
    run.install(spec)
    config = prefix / "current" / "config"
    master = yaml.safe_load((config / "hazelcast-master.yaml").read_text())["hazelcast"]
    assert master["cluster-name"] == "prod"
    assert master["network"]["join"]["tcp-ip"]["member-list"] == members.split(",")
    assert master["network"]["port"] == {"auto-increment": False, "port": spec.member_port}
    assert master["network"]["rest-api"]["enabled"] is False  # what the release shipped stays
    client = yaml.safe_load((config / "hazelcast-client.yaml").read_text())["hazelcast-client"]
    assert client["cluster-name"] == "prod" and client["network"]["cluster-members"] == members.split(",")
    # the hybrid file is left as shipped; the master's JVM options carry the heap
    assert yaml.safe_load((config / "hazelcast.yaml").read_text())["hazelcast"]["cluster-name"] == "seatunnel"
    jvm = (config / "jvm_master_options").read_text().splitlines()
    assert jvm[-2:] == ["-Xms3g", "-Xmx3g"] and "-Xmx2g" not in jvm
    plugin = yaml.safe_load((config / "seatunnel.yaml").read_text())["seatunnel"]["engine"]["checkpoint"]["storage"]
    assert plugin["plugin-config"] == {
        "namespace": "/seatunnel/checkpoint/", "storage.type": "s3", "fs.defaultFS": "s3a://bucket",
    }  # fmt: skip
    started = json.loads((prefix / "logs" / "fake-engine.json").read_text())
    assert started["argv"] == ["-r", "master"]
    assert started["hazelcast"]["cluster-name"] == "prod"


def test_a_second_run_on_the_same_prefix_is_refused_while_one_runs(make_spec, prefix):
    with RunLock(Layout(prefix).lock):
        with pytest.raises(InstallerError) as caught:
            run.install(make_spec(V1))
    assert caught.value.code == errors.BUSY
    assert not (prefix / "current").is_symlink()


def test_an_upgrade_whose_hook_failed_once_resumes_after_its_last_finished_step(make_spec, prefix, dist_server):
    run.install(make_spec(V1))

    def refuse(info: dict) -> None:
        raise RuntimeError("the control plane could not savepoint job 42")

    with pytest.raises(InstallerError) as caught:
        run.upgrade(make_spec(V2), hooks=run.Hooks(before_switch=refuse))
    assert caught.value.code == errors.HOOK_FAILED and "job 42" in caught.value.message
    assert os.readlink(prefix / "current") == f"versions/{V1}"  # nothing switched, the old engine still serves
    assert overview(make_spec().http_port)["projectVersion"] == V1
    record = Journal.load(Layout(prefix).journal)
    assert record is not None and record.status == "failed" and record.last_done() == "backup"

    fetched = len(dist_server.requests)
    recorder = Recorder()
    result = run.upgrade(make_spec(V2), reporter=recorder, resume=True, hooks=run.Hooks(before_switch=lambda i: None))
    assert result["version"] == V2 and overview(make_spec().http_port)["projectVersion"] == V2
    skipped = [name for name, state in recorder.events if state == "skipped"]
    assert skipped == [
        "preflight", "fetch", "verify", "unpack", "connectors", "carry_over", "configure", "backup",
    ]  # fmt: skip
    assert len(dist_server.requests) == fetched  # nothing downloaded again


def test_an_upgrade_that_runs_but_never_reports_healthy_is_rolled_back_after_the_timeout(make_spec, prefix):
    run.install(make_spec(V1))
    with pytest.raises(InstallerError) as caught:
        run.upgrade(make_spec(LYING, health_timeout=2.0))
    error = caught.value
    assert error.code == errors.ROLLED_BACK
    assert error.detail["failure"]["problem"] == f"/overview says projectVersion '{V2}', expected {LYING}"
    assert "not healthy after 2 s" in error.message
    assert os.readlink(prefix / "current") == f"versions/{V1}"
    assert overview(make_spec().http_port)["projectVersion"] == V1
