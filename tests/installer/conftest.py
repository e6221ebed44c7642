from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from installer.spec import InstallSpec, Layout
from installer.steps import service
from tests.installer.distribution import DistServer, build_tarball, fake_java, free_port, serve

V1 = "2.3.11"
V2 = "2.3.12"
BROKEN = "2.3.13"
CORRUPT = "2.3.10"  # its tarball does not match its .sha512
LYING = "2.3.14"  # runs, but its /overview says 2.3.12


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """<root>/<ver>/apache-seatunnel-<ver>-bin.tar.gz (+ .sha512), as on archive.apache.org/dist/seatunnel."""
    root = tmp_path_factory.mktemp("archive")
    build_tarball(root / V1, V1)
    build_tarball(root / V2, V2)
    build_tarball(root / BROKEN, BROKEN, broken=True)
    build_tarball(root / LYING, LYING, reports=V2)
    tarball = build_tarball(root / CORRUPT, CORRUPT)
    data = bytearray(tarball.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tarball.write_bytes(bytes(data))
    return root


@pytest.fixture
def dist_server(archive: Path) -> Iterator[DistServer]:
    state, server = serve(archive)
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def java11(tmp_path: Path) -> Path:
    return fake_java(tmp_path / "jdk11", 'openjdk version "11.0.2" 2019-01-15')


@pytest.fixture
def prefix(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "opt" / "seatunnel"
    yield path
    # Whatever a test left running is stopped (the process form's pid file says what).
    try:
        service.stop(Layout(path))
    except Exception:  # noqa: S110 - teardown of a test that may not have installed anything
        pass


@pytest.fixture
def make_spec(prefix: Path, java11: Path, dist_server: DistServer) -> Any:
    ports = {"http_port": free_port(), "member_port": free_port()}

    def make(version: str = V1, **overrides: Any) -> InstallSpec:
        values: dict[str, Any] = {
            "version": version,
            "prefix": prefix,
            "mirror": dist_server.url,
            "java_home": str(java11),
            "health_timeout": 30.0,
            **ports,
            **overrides,
        }
        return InstallSpec(**values)

    return make
