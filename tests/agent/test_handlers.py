"""The catalog's handlers on a SeaTunnel home laid out like the bin tarball."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import time
from pathlib import Path

import pytest

from agent import catalog, config, handlers
from agent.client import ControlPlane
from agent.facts import FactCollector
from agent.managers import build
from controlplane.seatunnel.emulator.process import emulator_process
from tests.waiting import wait_until


def context(home: Path, tmp_path: Path, type_: str, params: dict, cp=None, raw: dict | None = None):
    cfg = config.parse({"state_dir": str(tmp_path / "state"), "seatunnel": {"home": str(home)}, **(raw or {})})
    service = build(cfg.service, cfg) if cfg.service else None
    (tmp_path / "state" / "artifacts").mkdir(parents=True, exist_ok=True)
    client = ControlPlane(cp.url, cp.credential) if cp else ControlPlane("http://127.0.0.1:9")
    return handlers.Context(
        action_id="a-1",
        params=catalog.SCHEMAS[type_].validate(params, local_hosts=frozenset()),
        config=cfg,
        service=service,
        worker=None,
        client=client,
        facts=FactCollector(
            seatunnel_home=home,
            engine_url=cfg.engine_url,
            configured_version=None,
            manager=service,
            fallback_disk_path=tmp_path,
        ),
        artifact_dir=tmp_path / "state" / "artifacts",
    )


def run(type_: str, ctx: handlers.Context) -> dict:
    return handlers.HANDLERS[type_](ctx)


# -- log.tail ------------------------------------------------------------------------------------------


def test_log_tail_reads_the_last_lines(home, tmp_path):
    data = run("log.tail", context(home, tmp_path, "log.tail", {"file": "seatunnel-engine-server.log", "lines": 2}))
    assert data["lines"] == ["line 999", "line 1000"]


def test_log_tail_of_a_large_file_reads_only_its_end(home, tmp_path):
    big = home / "logs" / "big.log"
    with open(big, "w") as handle:
        for i in range(200_000):
            handle.write(f"{i:08d} some log text to make the line longer\n")
    data = run("log.tail", context(home, tmp_path, "log.tail", {"file": "big.log", "lines": 5000}))
    assert len(data["lines"]) == 5000 and data["lines"][-1].startswith("00199999")
    assert data["lines"][0].startswith("00195000")


def test_log_tail_refuses_a_symlink_out_of_logs(home, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0\n")
    os.symlink(secret, home / "logs" / "innocent.log")
    with pytest.raises(handlers.ActionFailed) as failure:
        run("log.tail", context(home, tmp_path, "log.tail", {"file": "innocent.log"}))
    assert failure.value.code == "AGENT_PATH_OUTSIDE_LOGS"
    os.symlink(tmp_path, home / "logs" / "up")  # a directory link: up/secret.txt
    with pytest.raises(handlers.ActionFailed) as failure:
        run("log.tail", context(home, tmp_path, "log.tail", {"file": "up/secret.txt"}))
    assert failure.value.code == "AGENT_PATH_OUTSIDE_LOGS"


def test_log_tail_of_a_missing_file(home, tmp_path):
    with pytest.raises(handlers.ActionFailed) as failure:
        run("log.tail", context(home, tmp_path, "log.tail", {"file": "nope.log"}))
    assert failure.value.code == "AGENT_FILE_NOT_FOUND"


@pytest.mark.parametrize("path", ["../config/seatunnel.yaml", "/etc/passwd", "a/../../x", "./a.log", "a//b"])
def test_log_tail_paths_that_could_escape_are_invalid_params(path):
    with pytest.raises(catalog.ParamsInvalid):
        catalog.SCHEMAS["log.tail"].validate({"file": path})


# -- snapshot.version_config ---------------------------------------------------------------------------


def test_snapshot_redacts_secrets_and_names_the_version(home, tmp_path):
    data = run("snapshot.version_config", context(home, tmp_path, "snapshot.version_config", {}))
    assert data["installed_version"] == "2.3.12"
    assert set(data["files"]) == {"config/seatunnel.yaml", "config/hazelcast.yaml", "config/job.conf"}
    text = json.dumps(data)
    for secret in ("hunter2", "S3SECRET", "dbpass"):
        assert secret not in text
    assert "basic-auth-username: admin" in data["files"]["config/seatunnel.yaml"]["text"]
    assert "basic-auth-password: ***REDACTED***" in data["files"]["config/seatunnel.yaml"]["text"]
    assert "connector-fake-2.3.12.jar" in data["jars"]["connectors"]


# -- plugin.install ------------------------------------------------------------------------------------


def test_plugin_install_verifies_and_places_the_jar_atomically(cp, home, tmp_path):
    jar = b"PK\x03\x04" + os.urandom(200_000)
    sha = cp.add_file(jar)
    params = {"name": "connector-jdbc-2.3.12.jar", "sha256": sha, "size": len(jar)}
    data = run("plugin.install", context(home, tmp_path, "plugin.install", params, cp))
    target = home / "connectors" / "connector-jdbc-2.3.12.jar"
    assert target.read_bytes() == jar and data["replaced_sha256"] is None
    assert [p.name for p in (home / "connectors").iterdir() if p.name.startswith(".")] == []  # no partial left
    again = run("plugin.install", context(home, tmp_path, "plugin.install", params, cp))
    assert again["already_installed"] is True


def test_plugin_install_refuses_a_file_that_does_not_match(cp, home, tmp_path):
    jar = b"PK" + os.urandom(1000)
    sha = cp.add_file(jar)
    cp.files[sha] = b"PK" + os.urandom(1000)  # the server hands out other bytes under that hash
    old = home / "connectors" / "connector-jdbc-2.3.12.jar"
    old.write_bytes(b"the old jar")
    params = {"name": old.name, "sha256": sha, "size": len(jar)}
    with pytest.raises(handlers.ActionFailed) as failure:
        run("plugin.install", context(home, tmp_path, "plugin.install", params, cp))
    assert failure.value.code == "AGENT_CHECKSUM_MISMATCH"
    assert old.read_bytes() == b"the old jar"  # untouched
    assert sorted(p.name for p in (home / "connectors").iterdir() if p.name.startswith(".")) == []
    # a larger file than announced is cut off, not stored whole
    cp.files[sha] = jar + b"x" * 10_000
    with pytest.raises(handlers.ActionFailed, match=r"expected \d+ bytes") as failure:
        run("plugin.install", context(home, tmp_path, "plugin.install", params, cp))
    assert failure.value.code == "AGENT_CHECKSUM_MISMATCH"


def test_plugin_install_of_an_unknown_file(cp, home, tmp_path):
    params = {"name": "x.jar", "sha256": "0" * 64, "size": 10}
    with pytest.raises(handlers.ActionFailed) as failure:
        run("plugin.install", context(home, tmp_path, "plugin.install", params, cp))
    assert failure.value.code == "AGENT_DOWNLOAD_FAILED" and "404" in failure.value.message


# -- health.check and diagnostics.collect ----------------------------------------------------------------


def test_health_check_against_the_emulator(home, tmp_path):
    with emulator_process("--version", "2.3.11") as zeta:
        ctx = context(home, tmp_path, "health.check", {"url": zeta.url})
        data = run("health.check", ctx)
        assert data["healthy"] is True and data["engine"]["overview"]["projectVersion"] == "2.3.11"
    data = run("health.check", context(home, tmp_path, "health.check", {"url": zeta.url}))
    assert data["healthy"] is False and data["engine"]["reachable"] is False


JAVA_SERVICE = """
public class StandIn {
    public static void main(String[] args) throws Exception {
        System.out.println("stand-in JVM up");
        Thread.sleep(600_000);
    }
}
"""


@pytest.mark.skipif(shutil.which("java") is None or shutil.which("jcmd") is None, reason="needs a JDK (java, jcmd)")
def test_diagnostics_bundle_with_a_real_jvm_thread_dump(home, tmp_path):
    source = tmp_path / "StandIn.java"
    source.write_text(JAVA_SERVICE)
    raw = {"service": {"manager": "process", "command": ["java", str(source)], "stop_timeout_seconds": 5}}
    ctx = context(home, tmp_path, "diagnostics.collect", {"since_minutes": 10}, raw=raw)
    ctx.service.start(30)
    try:
        out = home / "logs" / "seatunnel-agent-service.out"
        wait_until(  # the single-file launcher compiles first
            lambda: "stand-in JVM up" in out.read_text(),
            timeout=60,
            message=lambda: f"the stand-in JVM up:\n{out.read_text()}",
        )
        data = run("diagnostics.collect", ctx)
    finally:
        ctx.service.stop(10)
    bundle = tmp_path / "state" / "artifacts" / "a-1.tar.gz"
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() == data["artifact"]["sha256"]
    with tarfile.open(bundle) as tar:
        names = set(tar.getnames())
        read = {n: tar.extractfile(n).read().decode() for n in names}
    assert {
        "diagnostics/facts.json",
        "diagnostics/overview.json",
        "diagnostics/manifest.json",
        "diagnostics/config/seatunnel.yaml",
        "diagnostics/logs/seatunnel-engine-server.log",
        "diagnostics/thread_dump.txt",
    } <= names
    assert data["thread_dump"].startswith("jcmd on pid")
    assert '"main"' in read["diagnostics/thread_dump.txt"] and "StandIn.main" in read["diagnostics/thread_dump.txt"]
    assert "hunter2" not in read["diagnostics/config/seatunnel.yaml"]
    assert "dbpass" not in read["diagnostics/config/job.conf"]
    assert json.loads(read["diagnostics/facts.json"])["service"]["state"] == "running"


def test_diagnostics_leaves_out_logs_older_than_the_window(home, tmp_path):
    old = home / "logs" / "job-1.log"
    old.write_text("old\n")
    past = time.time() - 3 * 3600
    os.utime(old, (past, past))
    ctx = context(home, tmp_path, "diagnostics.collect", {"since_minutes": 60, "include_thread_dump": False})
    data = run("diagnostics.collect", ctx)
    assert "logs/job-1.log" not in data["contents"] and "logs/seatunnel-engine-server.log" in data["contents"]


def test_a_cancelled_diagnostics_collection_stops(home, tmp_path):
    ctx = context(home, tmp_path, "diagnostics.collect", {})
    ctx.cancel_event.set()
    with pytest.raises(handlers.Cancelled):
        run("diagnostics.collect", ctx)
    assert not (tmp_path / "state" / "artifacts" / "a-1.tar.gz").exists()


def test_service_actions_without_a_service_section_fail_clearly(home, tmp_path):
    with pytest.raises(handlers.ActionFailed) as failure:
        run("service.restart", context(home, tmp_path, "service.restart", {}))
    assert failure.value.code == "AGENT_NOT_CONFIGURED"
