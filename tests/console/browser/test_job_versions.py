"""The job pages in a real browser: a tenant member who may change jobs pastes a config (first with a mistake,
shown at its line with the text kept), creates the job, saves a second version, compares the two side by side and
rolls back to the first, sees the new version listed, sets a schedule, and runs the job against the emulator,
watching its state reach SUCCEEDED without a reload."""

from __future__ import annotations

import pytest

from tests.console.browser.conftest import screenshot
from tests.console.browser.test_console import signed_in

pytestmark = pytest.mark.timeout(300)

CONFIG = """env {
  job.mode = "BATCH"
}
source {
  FakeSource {
    plugin_output = "fake"
    row.num = 16
  }
}
sink {
  Console { plugin_input = "fake" }
}
"""


def test_create_a_job_by_pasting_compare_two_versions_roll_back_and_run_it(browser, control_plane):
    plane = control_plane
    # the owner: creating jobs and new versions is job.create / job.update, which an operator's role does not hold
    page = signed_in(browser, plane, "owner")
    page.goto(f"{plane.url}/admin/console/jobs/")
    page.click("[data-action=create]")
    page.wait_for_url(f"{plane.url}/admin/console/jobs/new/")
    page.fill("input[name=name]", "pasted-in-the-browser")
    broken = CONFIG.replace("row.num = 16", "row.num = = 16")
    page.fill("textarea[name=config]", broken)
    page.click("button[data-action=create]")
    page.wait_for_selector('[data-problem-line="7"]')
    assert "row.num = = 16" in page.inner_text('[data-problem-line="7"]')
    assert page.input_value("textarea[name=config]") == broken  # nothing typed is lost
    screenshot(page, "job-create")

    page.fill("textarea[name=config]", CONFIG)
    page.click("button[data-action=create]")
    page.wait_for_selector("h1:text('pasted-in-the-browser')")
    job_page = page.url
    page.click("[data-action=revise]")
    page.wait_for_selector("textarea[name=config]")
    page.fill("textarea[name=config]", CONFIG.replace("row.num = 16", "row.num = 32"))
    page.fill("input[name=message]", "more rows")
    screenshot(page, "job-revise")
    page.click("button[data-action=revise]")
    page.wait_for_selector('[data-version="2"]')

    page.click("[data-action=compare]")  # the newest two, checked by default
    page.wait_for_selector("#diff-text")
    changed = page.locator('#diff-text tr[data-change="changed"]')
    assert changed.count() == 1 and "row.num = 32" in changed.inner_text()
    assert "source[0].row.num" in page.inner_text("#diff-paths")
    screenshot(page, "job-diff")

    page.click("[data-action=rollback-confirm]")
    page.wait_for_selector("button[data-action=roll_back]")
    screenshot(page, "job-rollback")
    page.click("button[data-action=roll_back]")
    page.wait_for_selector('[data-version="3"]')
    assert "Version 3 created from version 1." in page.inner_text("body")
    screenshot(page, "job-versions")
    page.click("text=Schedule and next fire times")
    page.fill("input[name=cron]", "0 2 * * *")
    page.fill("input[name=timezone]", "Asia/Shanghai")
    page.click("button[data-action=set_schedule]")
    page.wait_for_selector("#upcoming li:nth-child(5)")
    assert "02:00:00 CST" in page.inner_text("#upcoming")  # the browser's zone is Asia/Shanghai too
    screenshot(page, "job-schedule")
    # The rolled-back version runs against the emulator, its state followed on the run's page without a reload.
    page.goto(job_page)
    page.click("[data-action=run]")
    page.wait_for_url(f"{plane.url}/admin/console/runs/*/")
    page.evaluate("window.consoleTestMark = 'unreloaded'")
    page.wait_for_selector('#run-state-value [data-state="SUCCEEDED"]', timeout=90_000)
    assert page.evaluate("window.consoleTestMark") == "unreloaded"
    assert "v3" in page.inner_text("#console-page")
    page.context.close()
