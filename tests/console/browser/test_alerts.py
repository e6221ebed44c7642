"""The alerts and channels pages in a real browser against the control plane as deployed: an operator finds a
firing alert from the sidebar and acknowledges it with a comment; a viewer's alert page has no button, and an alert
that fires while the viewer's list is open appears in it without a reload."""

from __future__ import annotations

import pytest

from tests.console.browser.conftest import BROWSER_PROBE, screenshot
from tests.console.browser.test_console import signed_in

pytestmark = pytest.mark.timeout(300)


def test_an_operator_acknowledges_a_firing_alert_from_its_page(browser, control_plane):
    plane = control_plane
    made = plane.probe("alert", module=BROWSER_PROBE)
    page = signed_in(browser, plane, "operator")
    page.click('a[href="/admin/console/alerts/"] >> nth=0')  # the sidebar
    page.wait_for_url(f"{plane.url}/admin/console/alerts/")
    assert page.is_visible(f'tr[data-alert="{made["alert"]}"] [data-state="critical"]')
    screenshot(page, "alerts")
    page.click("text=NodeDown")
    page.wait_for_url(f"{plane.url}/admin/console/alerts/{made['alert']}/")
    page.fill("input[name=comment]", "replacing the node")
    page.click("[data-action=acknowledge]")
    page.wait_for_selector("#alert-ack >> text=replacing the node")
    assert not page.is_visible("[data-action=acknowledge]")
    assert page.is_visible('[data-event="alerts.alert_acknowledged"]')
    state = plane.probe("alert-state", made["alert"], module=BROWSER_PROBE)
    assert state == {"status": "firing", "acknowledged": True, "acknowledged_by": "user:operator",
                     "comment": "replacing the node"}  # fmt: skip
    screenshot(page, "alert")
    page.click("[data-action=silence]")
    page.wait_for_selector('input[name=matcher_value][value="10.0.0.5:5801"]')  # the alert's labels, prefilled
    screenshot(page, "silence-new")
    page.goto(f"{plane.url}/admin/console/alert-rules/new/?kind=no_progress")
    assert page.input_value('input[name="param:seconds"]') == "600"  # the kind's parameters: typed inputs
    assert page.input_value('select[name="param:metric"]') == "SinkWriteCount"
    screenshot(page, "alert-rule-new")
    page.goto(f"{plane.url}/admin/console/channels/")
    assert page.is_visible("text=ops hook")
    screenshot(page, "channels")
    page.goto(f"{plane.url}/admin/console/channels/{made['channel']}/")
    assert "browser-signing-secret" not in page.content()
    screenshot(page, "channel")

    viewer = signed_in(browser, plane, "viewer")
    viewer.goto(f"{plane.url}/admin/console/alerts/{made['alert']}/")
    assert viewer.is_visible("#alert-ack") and not viewer.is_visible("[data-action]")

    viewer.goto(f"{plane.url}/admin/console/alerts/")
    viewer.wait_for_selector("#alert-rows[data-live-state=open]")
    viewer.evaluate('() => { window.consoleTestMark = "unreloaded"; }')
    fired = plane.probe("fire", "DiskFilling", module=BROWSER_PROBE)
    viewer.wait_for_selector(f'tr[data-alert="{fired}"] [data-state="warning"]', timeout=30_000)
    assert viewer.evaluate("window.consoleTestMark") == "unreloaded"
    assert viewer.is_visible(f'tr[data-alert="{made["alert"]}"]')  # the earlier one is still firing
