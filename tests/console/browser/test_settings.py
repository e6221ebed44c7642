"""The settings pages in a real browser: the owner invites a user and reads the invitation's token once; the invitee
opens the handed-over link in a browser of its own, sets a password, signs in and lands on the tenant's dashboard;
the owner creates a secret and reveals it through the confirmation, the value shown once; screenshots of the
pages."""

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
    handed_over = page.locator("#invitation-link").inner_text()
    assert handed_over == f"{plane.url}/admin/console/invitation/#{token}"
    screenshot(page, "settings-invited")
    page.goto(f"{plane.url}/admin/console/settings/members/")
    page.wait_for_selector("[data-invitation] >> text=newcomer")
    assert token not in page.content()
    screenshot(page, "settings-members")
    assert page.locator("#invitation-link").count() == 0  # the link was in the invite's answer only

    the_invitee_accepts(browser, plane, handed_over)

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


def the_invitee_accepts(browser: Any, plane: ControlPlane, link: str) -> None:
    """A browser of the invitee's own (no session): the link's token fills the form and leaves the address bar;
    the password set there signs the new user in to the tenant's dashboard."""
    context = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.goto(link)
    token = link.split("#", 1)[1]
    page.wait_for_function("document.querySelector('input[name=token]').value.length > 0")
    assert page.input_value("input[name=token]") == token
    assert page.get_attribute("input[name=token]", "type") == "password"
    assert page.evaluate("location.href") == f"{plane.url}/admin/console/invitation/"  # the fragment is gone
    screenshot(page, "invitation")
    page.fill("input[name=password]", "the invitee's own passphrase")
    page.fill("input[name=password_again]", "the invitee's own passphrase, mistyped")
    page.click("form#invitation-form [type=submit]")
    page.wait_for_selector("text=The two passwords differ")
    assert page.input_value("input[name=password]") == "" and page.input_value("input[name=token]") == token
    page.fill("input[name=password]", "the invitee's own passphrase")
    page.fill("input[name=password_again]", "the invitee's own passphrase")
    page.click("form#invitation-form [type=submit]")
    page.wait_for_url(f"{plane.url}/admin/login/")
    welcome = page.inner_text("body")
    assert "Sign in with the user name newcomer" in welcome and "you are Operator in the tenant Acme" in welcome
    screenshot(page, "invitation-accepted")
    page.fill("input[name=username]", "newcomer")
    page.fill("input[name=password]", "the invitee's own passphrase")
    page.click("form#login-form [type=submit]")
    page.wait_for_url(f"{plane.url}/admin/console/")
    assert page.locator("select[name=tenant] option:checked").inner_text() == "Acme"
    assert page.locator("select[name=workspace] option:checked").inner_text() == "All workspaces"  # tenant-wide
    context.close()

    chinese = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    chinese.add_cookies([{"name": "django_language", "value": "zh-hans", "url": plane.url}])
    page = chinese.new_page()
    page.goto(f"{plane.url}/admin/console/invitation/")
    page.wait_for_selector("text=您受邀加入")
    screenshot(page, "invitation-zh-hans")
    chinese.close()
