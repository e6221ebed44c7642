"""Bad input and unfit hosts: each refusal names the problem (and what to do), carries its stable code and
exit class, and leaves the node as it was: no `current` link, no version switched, no engine started."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import tarfile
from pathlib import Path

import pytest

from installer import errors, run
from installer.errors import InstallerError
from installer.spec import InstallSpec, Layout, parse_members
from installer.steps import service
from tests.installer.conftest import BROKEN, CORRUPT, V1, V2
from tests.installer.distribution import fake_java


def refused(call, code: str) -> InstallerError:
    with pytest.raises(InstallerError) as caught:
        call()
    assert caught.value.code == code, caught.value
    assert caught.value.message and caught.value.hint  # what is wrong, and what to do
    return caught.value


def assert_untouched(prefix: Path) -> None:
    layout = Layout(prefix)
    assert not layout.current.is_symlink()
    assert not layout.versions.exists() or not any(layout.versions.iterdir())
    assert service.running_pid(layout) is None
    assert not layout.service_file.exists()


def test_a_corrupted_tarball_is_refused_and_the_node_is_unchanged(make_spec, prefix, dist_server):
    error = refused(lambda: run.install(make_spec(CORRUPT)), errors.BAD_CHECKSUM)
    assert error.exit_code == errors.EXIT_ARTIFACT
    assert "SHA-512" in error.message and "download it again" in error.hint
    assert_untouched(prefix)
    assert not (prefix / "downloads" / f"apache-seatunnel-{CORRUPT}-bin.tar.gz").exists()  # a retry fetches anew
    fetches = [path for path, _ in dist_server.requests if path.endswith(".tar.gz")]
    # --resume after the refusal: fetch is done in the journal, but its file is gone; it is fetched again
    refused(lambda: run.install(make_spec(CORRUPT), resume=True), errors.BAD_CHECKSUM)
    assert [path for path, _ in dist_server.requests if path.endswith(".tar.gz")] == fetches * 2
    assert_untouched(prefix)


def test_a_corrupted_upgrade_leaves_the_running_version_alone(make_spec, prefix):
    run.install(make_spec(V1))
    pid = service.running_pid(Layout(prefix))
    refused(lambda: run.upgrade(make_spec(CORRUPT), force=True), errors.BAD_CHECKSUM)
    refused(lambda: run.upgrade(make_spec("2.3.99")), errors.UNKNOWN_VERSION)
    assert os.readlink(prefix / "current") == f"versions/{V1}"
    assert service.running_pid(Layout(prefix)) == pid
    assert run.status(prefix)["health"]["version"] == V1


def test_a_port_in_use_is_reported_with_the_port(make_spec, prefix):
    spec = make_spec(V1)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", spec.http_port))
        holder.listen()
        error = refused(lambda: run.install(spec), errors.PORT_IN_USE)
    assert error.detail["port"] == spec.http_port and f"Port {spec.http_port}" in error.message
    assert error.detail["pids"] == [os.getpid()] and f"pid {os.getpid()}" in error.message
    assert error.exit_code == errors.EXIT_HOST
    assert_untouched(prefix)


def test_missing_java_is_refused(make_spec, prefix, tmp_path):
    error = refused(lambda: run.install(make_spec(V1, java_home=str(tmp_path / "no-jdk"))), errors.JAVA_MISSING)
    assert "no bin/java under" in error.message and "Java 8 or 11" in error.hint
    assert_untouched(prefix)


def test_a_java_the_version_does_not_run_on_is_refused(make_spec, prefix, tmp_path):
    jdk17 = fake_java(tmp_path / "jdk17", 'openjdk version "17.0.9" 2023-10-17')
    error = refused(lambda: run.install(make_spec(V1, java_home=str(jdk17))), errors.JAVA_UNSUPPORTED)
    assert error.detail["found"] == 17 and f"SeaTunnel {V1} runs on Java 8 or 11" in error.message
    assert_untouched(prefix)


def test_java_8_is_accepted_for_2_3(make_spec, prefix, tmp_path):
    jdk8 = fake_java(tmp_path / "jdk8", 'java version "1.8.0_292"')
    result = run.install(make_spec(V1, java_home=str(jdk8)))
    assert result["steps"]["preflight"]["java_major"] == 8


def test_an_unknown_version_is_a_404_from_the_archive(make_spec, prefix, dist_server):
    error = refused(lambda: run.install(make_spec("2.3.99")), errors.UNKNOWN_VERSION)
    assert error.exit_code == errors.EXIT_ARTIFACT
    assert error.detail["url"] == f"{dist_server.url}/2.3.99/apache-seatunnel-2.3.99-bin.tar.gz"
    assert "404" in error.message and "seatunnel.apache.org/download" in error.hint
    assert_untouched(prefix)


def test_not_enough_disk_is_refused(make_spec, prefix):
    error = refused(lambda: run.install(make_spec(V1, min_free_disk=1 << 60)), errors.NO_DISK)
    assert error.detail["needed"] == 1 << 60 and error.detail["free"] < 1 << 60
    assert_untouched(prefix)


@pytest.mark.parametrize(
    ("members", "entry"),
    [("10.0.0.1:5801,,10.0.0.2", ""), ("10.0.0.1:58o1", "10.0.0.1:58o1"), ("a:1,a:1", "a:1"), ("bad host", "bad host")],
)
def test_a_bad_member_list_names_the_entry(members, entry):
    error = refused(lambda: parse_members(members), errors.BAD_MEMBERS)
    assert error.detail["entry"] == entry and error.exit_code == errors.EXIT_USAGE


def test_a_worker_without_members_is_refused(tmp_path):
    error = refused(lambda: InstallSpec(version=V1, prefix=tmp_path, role="worker"), errors.BAD_MEMBERS)
    assert "member list" in error.message


def test_a_bad_version_string_is_refused(tmp_path):
    refused(lambda: InstallSpec(version="latest", prefix=tmp_path), errors.BAD_VERSION)


def test_a_downgrade_needs_force(make_spec, prefix):
    run.install(make_spec(V2))
    error = refused(lambda: run.upgrade(make_spec(V1)), errors.DOWNGRADE_REFUSED)
    assert error.exit_code == errors.EXIT_POLICY and "rollback" in error.hint
    assert os.readlink(prefix / "current") == f"versions/{V2}"
    assert run.upgrade(make_spec(V1), force=True)["change"] == "downgrade"
    assert os.readlink(prefix / "current") == f"versions/{V1}"


def test_install_over_another_version_and_rollback_without_a_previous_are_refused(make_spec, prefix):
    run.install(make_spec(V1))
    refused(lambda: run.install(make_spec(V2)), errors.ALREADY_INSTALLED)
    refused(lambda: run.rollback(prefix), errors.NO_PREVIOUS_VERSION)
    assert os.readlink(prefix / "current") == f"versions/{V1}"


def _tarball_with(tmp_path: Path, version: str, extra: list[tarfile.TarInfo]) -> Path:
    top = f"apache-seatunnel-{version}"
    tarball = tmp_path / f"{top}-bin.tar.gz"
    tmp_path.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "w:gz") as archive:
        for info in extra:
            data = b"x" * info.size
            archive.addfile(info, io.BytesIO(data) if info.isfile() else None)
    (tmp_path / f"{tarball.name}.sha512").write_text(hashlib.sha512(tarball.read_bytes()).hexdigest() + "\n")
    return tarball


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_an_archive_whose_members_escape_is_refused_before_anything_is_written(make_spec, prefix, tmp_path, kind):
    version = "2.3.9"
    top = f"apache-seatunnel-{version}"
    if kind == "dotdot":
        evil = tarfile.TarInfo(f"{top}/../../../escaped")
    elif kind == "absolute":
        evil = tarfile.TarInfo(str(tmp_path / "escaped"))
    else:
        evil = tarfile.TarInfo(f"{top}/lib/escaped")
        evil.type, evil.linkname = tarfile.SYMTYPE, "../../../../escaped"
    evil.size = 0 if kind == "symlink" else 4
    tarball = _tarball_with(tmp_path / "src", version, [evil])
    error = refused(lambda: run.install(make_spec(version, source=str(tarball))), errors.BAD_ARCHIVE)
    assert "outside" in error.message or "leaves" in error.message or "not under" in error.message
    assert not list(tmp_path.rglob("escaped"))
    assert_untouched(prefix)


def test_connectors_come_from_a_local_directory_and_are_never_downloaded(make_spec, prefix, archive, tmp_path):
    local = tmp_path / "airgap"
    shutil.copytree(archive / V1, local)  # a local file source, its .sha512 beside it
    source = str(local / f"apache-seatunnel-{V1}-bin.tar.gz")
    error = refused(
        lambda: run.install(make_spec(V1, source=source, connectors=("connector-jdbc",))), errors.CONNECTOR_MISSING
    )
    assert "Maven Central" in error.hint and error.detail["connector"] == "connector-jdbc"
    assert not (prefix / "current").is_symlink()

    jars = tmp_path / "jars"
    jars.mkdir()
    (jars / f"connector-jdbc-{V1}.jar").write_bytes(b"PK jdbc")
    result = run.install(
        make_spec(V1, source=source, connectors=("connector-jdbc", "@plugin_config"), connectors_dir=str(jars))
    )
    assert result["steps"]["connectors"] == {
        "present": ["connector-fake", "connector-console"],
        "copied": [f"connector-jdbc-{V1}.jar"],
    }
    assert result["steps"]["fetch"]["local"] is True
    assert (prefix / "current" / "connectors" / f"connector-jdbc-{V1}.jar").read_bytes() == b"PK jdbc"


def test_a_first_install_whose_engine_does_not_come_up_is_undone(make_spec, prefix):
    error = refused(lambda: run.install(make_spec(BROKEN)), errors.HEALTH_FAILED)
    assert "exited before it was healthy" in error.message
    assert "Could not find or load main class" in error.hint  # the engine's own last words
    layout = Layout(prefix)
    assert not layout.current.is_symlink() and not layout.service_file.exists()
    assert service.running_pid(layout) is None
    assert (layout.versions / BROKEN / "bin").is_dir()  # kept for a look
