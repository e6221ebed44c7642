"""The operations console in a real browser: a node run by a real agent (``python -m agent`` supervising an emulated
2.3.12 member, as in tests/e2e), a rolling restart requested as the tenant's operator, and its page followed live:
the steps and the node's bar move on to SUCCEEDED without a reload. Then a diagnostic bundle downloaded from the
diagnostics page and a finding's fix plan shown for confirmation."""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controlplane.seatunnel.emulator.process import EmulatorMember
from tests.console.browser.conftest import BROWSER_PROBE, ControlPlane, screenshot
from tests.console.browser.test_console import signed_in
from tests.e2e.test_rolling_restart import EMULATOR_ARGS, Node, free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(420)

STEPS = "tr[data-step]"
# Every step's state as the page shows it, in order: "key=STATE,key=STATE"
SNAPSHOT = """() => [...document.querySelectorAll("tr[data-step]")]
    .map(row => row.dataset.step + "=" + row.querySelector(".console-progress").dataset.state).join(",")"""


@pytest.fixture(scope="module")
def node(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The cluster ``nodes``: one member started by hand answers the registration's probe, then the agent takes it
    over (``service.start``, same address and cluster directory) and is online."""
    plane = control_plane
    directory = tmp_path_factory.mktemp("console-node")
    cluster_dir = directory / "cluster"
    cluster_dir.mkdir()
    port = free_port()
    member = EmulatorMember(cluster_dir, port=port, args=EMULATOR_ARGS).start()
    try:
        made = plane.probe("node-cluster", member.url, module=BROWSER_PROBE)
    finally:
        member.stop()
    machine = Node("node1", Path(directory / "node1"), cluster_dir, port)
    try:
        machine.start_agent(plane.url, made["token"])

        def online() -> str | None:
            assert machine.process is not None and machine.process.poll() is None, machine.output()
            agents = plane.probe("agents", made["cluster_id"], module=BROWSER_PROBE)
            return agents[0]["id"] if agents and agents[0]["status"] == "online" else None

        agent_id = wait_until(online, timeout=90, interval=0.5, message=lambda: f"the agent online\n{machine.output()}")
        started = plane.probe("act", agent_id, "service.start", module=BROWSER_PROBE)

        def finished() -> dict | None:
            action = plane.probe("action", started, module=BROWSER_PROBE)
            return action if action["state"] in ("SUCCEEDED", "FAILED") else None

        done = wait_until(
            finished,
            timeout=90,
            interval=0.5,
            message=lambda: f"service.start\n{machine.output()}",
        )
        assert done["state"] == "SUCCEEDED", (done, machine.output())
        yield {"cluster_id": made["cluster_id"], "agent_id": agent_id, "machine": machine}
    finally:
        machine.stop()


def test_an_operator_follows_a_rolling_restart_live_to_succeeded(browser, control_plane, node):
    plane = control_plane
    page = signed_in(browser, plane, "operator")
    # The node's Restart button on its cluster's page requests the rolling restart and opens the operation's page.
    page.goto(f"{plane.url}/admin/console/clusters/{node['cluster_id']}/")
    page.locator(f'tr:has-text("{node["agent_id"][:8]}") [data-action=restart]').click()
    page.wait_for_url(re.compile(r".*/admin/console/operations/\w+/$"))
    operation_id = page.url.rstrip("/").rsplit("/", 1)[1]
    # A mark in the page's own window (a reload would lose it), and every change of the steps as the page shows it.
    page.evaluate(
        f"""() => {{
            window.consoleTestMark = "unreloaded";
            const snapshot = {SNAPSHOT};
            window.consoleSeen = [snapshot()];
            new MutationObserver(() => {{
                const now = snapshot();
                if (now !== window.consoleSeen[window.consoleSeen.length - 1]) window.consoleSeen.push(now);
            }}).observe(document.querySelector("#operation-state"), {{childList: true, subtree: true}});
        }}"""
    )
    page.wait_for_selector("#operation-state[data-live-state=open]", timeout=30_000)
    try:
        page.wait_for_selector('#operation-state-value [data-state="SUCCEEDED"]', timeout=240_000)
    except Exception:
        print(plane.probe("operation-state", operation_id, module=BROWSER_PROBE), node["machine"].output())
        raise
    assert page.evaluate("window.consoleTestMark") == "unreloaded"
    seen = [dict(item.split("=") for item in snap.split(",")) for snap in page.evaluate("window.consoleSeen")]
    keys = list(seen[-1])
    assert "b1.restart" in keys and set(seen[-1].values()) == {"SUCCEEDED"}, seen[-1]
    assert set(seen[0].values()) != {"SUCCEEDED"}, seen[0]  # it was under way when the page opened
    # the steps advanced one after the other on the page: some done while a later one was not
    assert any("SUCCEEDED" in s.values() and set(s.values()) != {"SUCCEEDED"} for s in seen), seen
    assert plane.probe("operation-state", operation_id, module=BROWSER_PROBE)["state"] == "SUCCEEDED"
    restart = page.locator('tr[data-step="b1.restart"] .console-node .console-progress')
    assert restart.get_attribute("data-state") == "SUCCEEDED" and restart.get_attribute("data-percent") == "100"
    assert page.locator("[data-action=cancel]").count() == 0  # finished: nothing to cancel
    screenshot(page, "operation")

    page.click('a[href="/admin/console/operations/"] >> nth=0')  # the sidebar
    page.wait_for_url(f"{plane.url}/admin/console/operations/")
    assert page.locator(f'a[href="/admin/console/operations/{operation_id}/"]').count() == 1
    screenshot(page, "operations")
    page.context.close()


def test_an_operator_downloads_a_bundle_and_reads_a_findings_fix_plan(browser, control_plane, node):
    plane = control_plane
    found = plane.probe("diagnosis", node["cluster_id"], module=BROWSER_PROBE)
    page = signed_in(browser, plane, "operator")
    page.click('a[href="/admin/console/diagnostics/"] >> nth=0')  # the sidebar
    page.wait_for_url(f"{plane.url}/admin/console/diagnostics/")
    screenshot(page, "diagnostics")
    with page.expect_download() as download:
        page.click(f'tr[data-archive="{found["archive_id"]}"] [data-action=download]')
    assert download.value.suggested_filename == f"diagnostics-{found['archive_id']}.tar.gz"
    with tarfile.open(download.value.path()) as archive:  # the bundle as packed, streamed through the page
        assert any(name.endswith("engine/overview.json") for name in archive.getnames())
    page.click(f'tr[data-finding="{found["finding_id"]}"] [data-action=fix]')
    page.wait_for_url(f"{plane.url}/admin/console/findings/{found['finding_id']}/fix/")
    assert page.locator("[data-action=confirm-fix]").count() == 1  # the plan shown, nothing run until confirmed
    assert "worker.start" in page.inner_text(".console-plan")
    screenshot(page, "finding-fix")
    page.context.close()
