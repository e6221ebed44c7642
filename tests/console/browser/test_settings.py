"""The settings pages in a real browser: the owner invites a user and reads the invitation's token once, creates a
secret and reveals it through the confirmation, the value shown once; screenshots of both pages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.browser.conftest import ControlPlane, screenshot
from tests.console.browser.test_console import signed_in

pytestmark = pytest.mark.timeout(300)


def test_the_owner_invites_a_user_and_reveals_a_secret_each_shown_once(browser: Any, control_plane: ControlPlane):
    plane = control_plane
    page = signed_in(browser, plane, "owner")
    page.goto(f"{plane.url}/admin/console/settings/members/")
    form = page.locator("[data-form=invite]")
    form.locator("input[name=username]").fill("newcomer")
    form.locator("input[name=email]").fill("newcomer@example.com")
    form.locator("select[name=role]").select_option("operator")
    form.locator("[data-action=invite]").click()
    token = page.locator("#shown-once").inner_text()
    assert token.startswith("stci_")
    page.goto(f"{plane.url}/admin/console/settings/members/")
    page.wait_for_selector("[data-invitation] >> text=newcomer")
    assert token not in page.content()
    screenshot(page, "settings-members")

    page.goto(f"{plane.url}/admin/console/settings/secrets/")
    form = page.locator("[data-form=secret]")
    form.locator("input[name=name]").fill("warehouse-password")
    form.locator("input[name=description]").fill("the warehouse's login")
    form.locator("input[name=value]").fill("browser-s3cret")
    form.locator("[data-action=create_secret]").click()
    page.wait_for_selector("h1:text('warehouse-password')")
    assert "browser-s3cret" not in page.content()
    page.click("[data-action=reveal]")
    page.wait_for_selector("text=recorded on the audit trail")
    page.click("[data-action=reveal]")  # the confirmation's button: the POST
    page.wait_for_selector("#shown-once")
    assert page.locator("#shown-once").inner_text() == "browser-s3cret"
    page.goto(f"{plane.url}/admin/console/settings/secrets/")
    page.wait_for_selector("text=warehouse-password")
    assert "browser-s3cret" not in page.content()
    screenshot(page, "settings-secrets")
    page.context.close()
