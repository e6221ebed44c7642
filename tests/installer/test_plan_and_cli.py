"""`plan` changes nothing on disk (bytes and mtimes), and the CLI: exit codes per refusal class, and an install
killed mid-download that `--resume` finishes (the download continues with an HTTP Range request)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from installer import errors, plan, run
from installer.journal import Journal
from installer.spec import Layout
from tests.installer.conftest import V1, V2
from tests.installer.distribution import ROOT
from tests.waiting import wait_until


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root with its kind, bytes (or link target) and mtime."""
    found: dict[str, tuple] = {}
    if not root.exists():
        return found
    for path in sorted(root.rglob("*")):
        stat = path.lstat()
        if path.is_symlink():
            found[str(path)] = ("link", os.readlink(path), stat.st_mtime_ns)
        elif path.is_file():
            found[str(path)] = ("file", path.read_bytes(), stat.st_mtime_ns, stat.st_mode)
        else:
            found[str(path)] = ("dir", stat.st_mtime_ns, stat.st_mode)
    return found


def test_plan_on_an_empty_host_creates_nothing(make_spec, prefix):
    result = plan.plan_install(make_spec(V1))
    assert not prefix.exists() and not prefix.parent.exists()
    kinds = [(c["kind"], c.get("action")) for c in result["changes"]]
    assert ("download", "download") in kinds and ("link", "switch") in kinds
    assert all(check["ok"] for check in result["checks"]), result["checks"]


def test_plan_of_an_upgrade_shows_diffs_and_changes_nothing(make_spec, prefix, archive):
    run.install(make_spec(V1))
    before = snapshot(prefix)
    source = str(archive / V2 / f"apache-seatunnel-{V2}-bin.tar.gz")
    result = plan.plan_install(make_spec(V2, source=source, basic_auth=("admin", "s3cret"), heap="4g"), "upgrade")
    assert snapshot(prefix) == before

    assert result["from"] == V1 and result["change"] == "patch" and not result["refusals"]
    files = {Path(c["path"]).name: c for c in result["changes"] if c["kind"] == "file"}
    seatunnel = files["seatunnel.yaml"]
    assert seatunnel["action"] == "create"
    assert f"versions/{V1}/config/seatunnel.yaml" in seatunnel["diff"]  # diffed against the running config
    assert "+      enable-basic-auth: true" in seatunnel["diff"]
    assert "basic-auth-password: ***" in seatunnel["diff"] and "s3cret" not in json.dumps(result)
    assert "+-Xmx4g" in files["jvm_options"]["diff"]
    link = next(c for c in result["changes"] if c["kind"] == "link")
    assert (link["from"], link["to"]) == (f"versions/{V1}", f"versions/{V2}")
    assert any(c["kind"] == "service" and c["action"] == "stop" for c in result["changes"])
    ports = next(c for c in result["checks"] if c["check"] == "ports")
    assert set(ports["result"].values()) <= {"ours", "free"} and "ours" in ports["result"].values()

    assert plan.plan_rollback(prefix)["refusals"][0]["code"] == errors.NO_PREVIOUS_VERSION
    removals = {Path(c["path"]).name for c in plan.plan_uninstall(prefix)["changes"] if c["kind"] == "remove"}
    assert removals == {"current", "versions", "downloads", ".installer"}
    assert snapshot(prefix) == before


def cli(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "agent.install", *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def spec_flags(spec) -> list[str]:
    return [
        "--version", spec.version, "--prefix", str(spec.prefix), "--mirror", spec.mirror,
        "--java-home", spec.java_home, "--http-port", str(spec.http_port), "--member-port", str(spec.member_port),
        "--health-timeout", "30",
    ]  # fmt: skip


def test_cli_exit_codes_per_refusal_class(make_spec, prefix):
    spec = make_spec(V1)
    planned = cli("plan", *spec_flags(spec))
    assert planned.returncode == 0 and f"plan: install {V1} (nothing is changed)" in planned.stderr
    assert f"download  download       {prefix}/downloads/apache-seatunnel-{V1}-bin.tar.gz" in planned.stderr
    assert f"link      switch         {prefix}/current (none) -> versions/{V1}" in planned.stderr
    assert not prefix.exists()
    bad_members = cli("install", *spec_flags(spec), "--members", "10.0.0.1:5801,,x", "--yes")
    assert bad_members.returncode == errors.EXIT_USAGE
    assert "INSTALLER_BAD_MEMBERS" in bad_members.stderr
    unknown = cli("install", *spec_flags(make_spec("2.3.99")), "--yes")
    assert unknown.returncode == errors.EXIT_ARTIFACT and "INSTALLER_UNKNOWN_VERSION" in unknown.stderr
    unconfirmed = cli("install", *spec_flags(spec))  # no --yes and no terminal
    assert unconfirmed.returncode == errors.EXIT_DECLINED
    nothing = cli("rollback", "--prefix", str(prefix), "--yes")
    assert nothing.returncode == errors.EXIT_POLICY and "INSTALLER_NO_PREVIOUS_VERSION" in nothing.stderr
    assert not (prefix / "current").is_symlink()


def test_an_install_killed_mid_download_is_resumed(make_spec, prefix, dist_server, archive):
    spec = make_spec(V1)
    tarball = archive / V1 / f"apache-seatunnel-{V1}-bin.tar.gz"
    dist_server.stall = tarball.stat().st_size // 3
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "agent.install", "install", *spec_flags(spec), "--yes", "--json"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    part = prefix / "downloads" / f"{tarball.name}.part"
    try:
        wait_until(lambda: part.exists() and part.stat().st_size >= dist_server.stall, message="a partial download")
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    dist_server.release.set()
    dist_server.stall = None
    cut = part.stat().st_size
    assert 0 < cut < tarball.stat().st_size

    record = Journal.load(Layout(prefix).journal)
    assert record is not None and record.status == "running" and record.last_done() == "preflight"
    assert not (prefix / "current").is_symlink()

    again = cli("install", *spec_flags(spec), "--yes")  # without --resume: refused, and says how to go on
    assert again.returncode == errors.EXIT_POLICY and "INSTALLER_UNFINISHED_RUN" in again.stderr
    assert "--resume" in again.stderr

    resumed = cli("install", "--prefix", str(prefix), "--resume", "--yes", "--json")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["steps"]["fetch"]["resumed_from"] == cut
    assert result["steps"]["fetch"]["bytes"] == tarball.stat().st_size and not part.exists()
    ranges = [header for path, header in dist_server.requests if path.endswith(".tar.gz") and header]
    assert ranges == [f"bytes={cut}-"]
    assert result["steps"]["health"]["version"] == V1
    record = Journal.load(Layout(prefix).journal)
    assert record is not None and record.status == "done" and record.resumed == 1
    assert next(s for s in record.steps if s.name == "preflight").status == "done"

    status = cli("status", "--prefix", str(prefix), "--json")
    assert json.loads(status.stdout)["health"]["version"] == V1


def test_manage_py_seatunnel_calls_the_same_core(make_spec, prefix):
    spec = make_spec(V1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    manage = [sys.executable, "manage.py", "seatunnel"]
    done = subprocess.run(
        [*manage, "install", *spec_flags(spec), "--yes", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["steps"]["health"]["version"] == V1
    refused = subprocess.run(
        [*manage, "upgrade", *spec_flags(spec), "--version", "2.3.1x", "--yes"],  # the last --version wins
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert refused.returncode == errors.EXIT_USAGE and "INSTALLER_BAD_VERSION" in refused.stderr


def test_an_upgrade_needs_only_the_version_the_rest_is_the_installed_spec(make_spec, prefix):
    spec = make_spec(V1)
    assert cli("install", *spec_flags(spec), "--cluster-name", "prod", "--heap", "3g", "--yes").returncode == 0
    planned = cli("plan", "--prefix", str(prefix), "--version", V2, "--json")
    assert planned.returncode == 0, planned.stderr
    changes = json.loads(planned.stdout)["changes"]
    link = next(c for c in changes if c["kind"] == "link")
    assert (link["from"], link["to"]) == (f"versions/{V1}", f"versions/{V2}")
    download = next(c for c in changes if c["kind"] == "download")
    assert download["url"] == f"{spec.mirror}/{V2}/apache-seatunnel-{V2}-bin.tar.gz"  # the installed mirror
    done = cli("upgrade", "--prefix", str(prefix), "--version", V2, "--yes", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["steps"]["health"] == {
        "version": V2, "workers": 1, "members": 1, "url": f"http://127.0.0.1:{spec.http_port}",
    }  # fmt: skip
    installed = json.loads((prefix / ".installer" / "node.json").read_text())["specs"][V2]
    assert (installed["cluster_name"], installed["heap"], installed["member_port"]) == ("prod", "3g", spec.member_port)
    with socket.socket() as holder:  # a flag that is given wins over the installed spec
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        flagged = cli(
            "upgrade", "--prefix", str(prefix), "--version", V1, "--force", "--http-port", str(taken), "--yes"
        )
    assert flagged.returncode == errors.EXIT_HOST and f"Port {taken} is in use" in flagged.stderr
