"""The installer's agent actions, called as the daemon calls a handler (agent/installer_actions.py), on the fake
distribution served over real HTTP (tests/installer/distribution.py): the node's policy, the facts, and a cancel
honoured between steps before the switch. The same actions through a real agent and control plane:
tests/e2e/test_install_cluster.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent import catalog, config, handlers
from agent.client import ControlPlane
from agent.facts import FactCollector
from installer.journal import Journal
from installer.spec import Layout
from installer.steps import service
from tests.installer.distribution import build_tarball, fake_java, free_port, serve

VERSION = "2.3.12"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("archive")
    build_tarball(root / VERSION, VERSION)
    return root


@pytest.fixture
def mirror(archive: Path) -> Iterator[str]:
    state, server = serve(archive)
    yield state.url
    server.shutdown()
    server.server_close()


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "opt"
    path.mkdir()
    yield path
    try:
        service.stop(Layout(path / "seatunnel"))
    except Exception:  # noqa: S110 - teardown of a test that may have installed nothing
        pass


def context(tmp_path: Path, root: Path, type_: str, params: dict[str, Any], **installer: Any) -> handlers.Context:
    java = fake_java(tmp_path / "jdk11", 'openjdk version "11.0.2" 2019-01-15')
    cfg = config.parse(
        {
            "state_dir": str(tmp_path / "state"),
            "installer": {"root": str(root), "java_home": str(java), **installer},
        }
    )
    return handlers.Context(
        action_id="a-1",
        params=catalog.SCHEMAS[type_].validate(params, local_hosts=frozenset()),
        config=cfg,
        service=None,
        worker=None,
        client=ControlPlane("http://127.0.0.1:9"),
        facts=FactCollector(
            seatunnel_home=None, engine_url=None, configured_version=None, manager=None, fallback_disk_path=tmp_path
        ),
        artifact_dir=tmp_path,
    )


def install_params(root: Path, mirror: str) -> dict[str, Any]:
    return {
        "prefix": str(root / "seatunnel"),
        "version": VERSION,
        "mirror": mirror,
        "http_port": free_port(),
        "member_port": free_port(),
        "health_timeout_seconds": 30,
    }


def test_without_an_install_root_no_installer_action_runs(tmp_path: Path) -> None:
    cfg = config.parse({"state_dir": str(tmp_path / "state")})
    ctx = context(tmp_path, tmp_path, "installer.status", {"prefix": str(tmp_path / "x")})
    ctx.config = cfg
    with pytest.raises(handlers.ActionFailed) as info:
        handlers.HANDLERS["installer.status"](ctx)
    assert info.value.code == "AGENT_NOT_CONFIGURED"


def test_a_link_out_of_the_root_is_followed_and_refused(tmp_path: Path, root: Path) -> None:
    (root / "escape").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    ctx = context(tmp_path, root, "installer.uninstall", {"prefix": str(root / "escape" / "seatunnel")})
    with pytest.raises(handlers.ActionFailed) as info:
        handlers.HANDLERS["installer.uninstall"](ctx)
    assert info.value.code == "AGENT_PATH_OUTSIDE_INSTALL_ROOT"
    ctx = context(tmp_path, root, "installer.status", {"prefix": str(root)})  # the root itself is not a prefix
    with pytest.raises(handlers.ActionFailed):
        handlers.HANDLERS["installer.status"](ctx)


def test_a_url_the_outbound_policy_denies_is_refused_before_anything_is_fetched(tmp_path: Path, root: Path) -> None:
    params = {"prefix": str(root / "seatunnel"), "version": VERSION, "source": "http://169.254.169.254/x.tar.gz"}
    ctx = context(tmp_path, root, "installer.install", params)
    with pytest.raises(handlers.ActionFailed) as info:
        handlers.HANDLERS["installer.install"](ctx)
    assert info.value.code == "OUTBOUND_TARGET_FORBIDDEN" and "cloud-metadata" in info.value.message
    assert not (root / "seatunnel").exists()


def test_a_cancel_before_the_switch_leaves_the_node_as_it_was_and_the_next_run_installs(
    tmp_path: Path, root: Path, mirror: str
) -> None:
    params = install_params(root, mirror)
    ctx = context(tmp_path, root, "installer.install", params)
    progress = ctx.progress

    def cancel_after_the_download(message: str, percent: int | None = None) -> None:
        progress(message, percent)
        if message == "fetch: done":
            ctx.cancel_event.set()  # what the daemon does when a progress answer says cancel

    ctx.progress = cancel_after_the_download  # type: ignore[method-assign]
    with pytest.raises(handlers.Cancelled):
        handlers.HANDLERS["installer.install"](ctx)
    layout = Layout(root / "seatunnel")
    assert not layout.current.is_symlink() and service.running_pid(layout) is None
    assert "verify: not started (cancelled)" in ctx.output_tail
    record = Journal.load(layout.journal)
    assert record is not None and record.status == "failed" and record.last_done() == "fetch"

    again = context(tmp_path, root, "installer.install", params)
    data = handlers.HANDLERS["installer.install"](again)
    assert data["result"]["steps"]["fetch"].get("already") is True  # the download the cancelled run made
    facts = data["facts"]
    assert (facts["installed_version"], facts["engine_version"], facts["role"]) == (VERSION, VERSION, "hybrid")
    assert facts["rest_endpoint"] == f"http://{facts['host']}:{params['http_port']}"
    assert facts["member_address"].endswith(f":{params['member_port']}")  # no agent member_address: Hazelcast's

    # past the switch a cancel no longer stops the run: the upgrade of the same version is a no-op anyway, and a
    # cancel asked for during the uninstall does not leave it half done
    late = context(tmp_path, root, "installer.uninstall", {"prefix": str(root / "seatunnel")})
    late.cancel_event.set()
    removed = handlers.HANDLERS["installer.uninstall"](late)
    assert "versions" in removed["result"]["removed"] and not layout.current.is_symlink()
