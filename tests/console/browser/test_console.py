"""The console in a real browser against the control plane as deployed and the Zeta emulator: an operator runs a
job and watches its state reach SUCCEEDED without reloading the page, switches to Chinese and sees the same page
translated, watches a streaming run's throughput move and pauses, resumes and stops it following each state live
(its records/s on the dashboard's sparkline); a viewer finds no Run button
and a forged POST is refused with nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.browser.conftest import ControlPlane, screenshot
from tests.console.test_translations import untranslated

pytestmark = pytest.mark.timeout(300)

STATE = "#run-state-value [data-state]"
RATE = "document.querySelector('[data-metric=records-in-rate]')"
COUNT = "document.querySelector('[data-metric=records-in]')"


def forged_run(page: Any, plane: ControlPlane, job_id: str) -> dict:
    """POST the job's Run form from the page, as a crafted request would (the page drew no button)."""
    return page.evaluate(
        """async (url) => {
            const token = document.querySelector("[name=csrfmiddlewaretoken]").value;
            const r = await fetch(url, {method: "POST", headers: {"X-CSRFToken": token}, credentials: "same-origin"});
            return {status: r.status, text: await r.text()};
        }""",
        f"{plane.url}/admin/console/jobs/{job_id}/run/",
    )


def signed_in(browser: Any, plane: ControlPlane, username: str) -> Any:
    page = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai").new_page()
    page.goto(f"{plane.url}/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", plane.password)
    page.click("form#login-form [type=submit]")
    try:
        page.wait_for_url(f"{plane.url}/admin/console/")
    except Exception:
        print(page.url, page.inner_text("body")[:3000])
        raise
    return page


def test_an_operator_runs_a_job_and_watches_it_succeed_live_then_reads_it_in_chinese(browser, control_plane):
    plane, job_id = control_plane, control_plane.setup["job_id"]
    page = signed_in(browser, plane, "operator")
    screenshot(page, "dashboard")
    page.click('a[href="/admin/console/jobs/"] >> nth=0')  # the sidebar
    page.wait_for_url(f"{plane.url}/admin/console/jobs/")
    screenshot(page, "jobs")
    page.click("text=fake-to-console")
    page.wait_for_url(f"{plane.url}/admin/console/jobs/{job_id}/")
    screenshot(page, "job")
    page.click("[data-action=run]")
    page.wait_for_url(f"{plane.url}/admin/console/runs/*/")
    (run,) = plane.runs(job_id)
    assert page.url.endswith(f"/runs/{run['id']}/")
    # A mark in the page's own window: a reload or a navigation would lose it.
    page.evaluate("window.consoleTestMark = 'unreloaded'")
    page.wait_for_selector("#run-state[data-live-state=open]", timeout=30_000)
    page.wait_for_selector(f'{STATE}[data-state="SUCCEEDED"]', timeout=120_000)
    assert page.evaluate("window.consoleTestMark") == "unreloaded"
    assert plane.runs(job_id)[0]["state"] == "SUCCEEDED"
    assert page.inner_text(STATE) == "Succeeded"
    assert " CST" in page.inner_text("#run-state")  # the browser's zone (Asia/Shanghai), not the server's UTC
    screenshot(page, "run")

    page.click("button[value=zh-hans]")
    page.wait_for_selector("h1:text('运行')")
    assert page.inner_text(STATE) == "成功"
    assert untranslated(page.content()) == []
    screenshot(page, "run-zh-hans")
    page.goto(f"{plane.url}/admin/console/runs/")
    assert untranslated(page.content()) == []
    screenshot(page, "runs-zh-hans")
    page.click("button[value=en]")
    page.wait_for_selector("h1:text('Runs')")
    screenshot(page, "runs")
    page.context.close()


def test_an_operator_pauses_and_resumes_a_streaming_run_and_follows_it_live(browser, control_plane):
    plane, job_id = control_plane, control_plane.setup["stream_id"]
    page = signed_in(browser, plane, "operator")
    page.goto(f"{plane.url}/admin/console/jobs/{job_id}/")
    page.click("[data-action=run]")
    page.wait_for_url(f"{plane.url}/admin/console/runs/*/")
    run_url = page.url
    # The throughput and log part follows the telemetry without an event: a rate appears, then the count moves on.
    page.evaluate("window.consoleTestMark = 'unreloaded'")
    page.wait_for_function(f"() => ({RATE}?.textContent.trim() || '—') !== '—'", timeout=120_000)
    seen = page.inner_text("[data-metric=records-in]")
    page.wait_for_function(f"(seen) => {COUNT}.textContent.trim() !== seen", arg=seen, timeout=60_000)
    assert page.evaluate("window.consoleTestMark") == "unreloaded"
    screenshot(page, "run-streaming")
    page.goto(f"{plane.url}/admin/console/")
    page.wait_for_selector("#streaming-throughput svg[role=img]")
    screenshot(page, "dashboard")
    page.goto(run_url)
    for button, reached in (("pause", "PAUSED"), ("resume", "RUNNING"), ("stop", "STOPPED")):
        # The button appears when the live state allows it (the fragment re-rendered on the socket's events).
        page.wait_for_selector(f"[data-action={button}]", timeout=120_000)
        page.click(f"[data-action={button}]")
        page.wait_for_load_state()
        page.evaluate("window.consoleTestMark = 'unreloaded'")
        page.wait_for_selector(f'{STATE}[data-state="{reached}"]', timeout=120_000)
        assert page.evaluate("window.consoleTestMark") == "unreloaded"
        if reached == "PAUSED":
            screenshot(page, "run-paused")
    assert plane.runs(job_id)[0]["state"] == "STOPPED"
    page.context.close()


def test_a_viewer_has_no_run_button_and_a_forged_post_changes_nothing(browser, control_plane):
    plane, job_id = control_plane, control_plane.setup["job_id"]
    before = plane.runs(job_id)
    page = signed_in(browser, plane, "viewer")
    page.goto(f"{plane.url}/admin/console/jobs/{job_id}/")
    page.wait_for_selector("h1:text('fake-to-console')")
    assert page.locator("[data-action=run]").count() == 0
    answer = forged_run(page, plane, job_id)
    assert answer["status"] == 403 and "job.run" in answer["text"]
    assert plane.runs(job_id) == before
    page.context.close()


def test_the_owner_reads_the_audit_trail_with_a_refusal_on_it(browser, control_plane):
    viewer = signed_in(browser, control_plane, "viewer")
    assert forged_run(viewer, control_plane, control_plane.setup["job_id"])["status"] == 403
    viewer.context.close()
    page = signed_in(browser, control_plane, "owner")
    page.goto(f"{control_plane.url}/admin/console/audit/?result=denied")
    page.wait_for_selector("text=console.run")
    screenshot(page, "audit")
    page.context.close()


TOUR = {  # every page of the sidebar, by the name its screenshot gets
    "dashboard": "/admin/console/",
    "jobs": "/admin/console/jobs/",
    "runs": "/admin/console/runs/",
    "clusters": "/admin/console/clusters/",
    "operations": "/admin/console/operations/",
    "diagnostics": "/admin/console/diagnostics/",
    "alerts": "/admin/console/alerts/",
    "silences": "/admin/console/silences/",
    "alert-rules": "/admin/console/alert-rules/",
    "audit": "/admin/console/audit/",
    "settings": "/admin/console/settings/",
    "workspaces": "/admin/console/settings/workspaces/",
    "members": "/admin/console/settings/members/",
    "tokens": "/admin/console/settings/tokens/",
    "secrets": "/admin/console/settings/secrets/",
    "channels": "/admin/console/channels/",
}


def test_the_owner_opens_every_page_in_both_languages_without_a_script_error(browser, control_plane):
    """Each sidebar page and a cluster's page (with its topology, health tree and wizard) load with no script error
    in English and in Chinese, and the Chinese page has no English of its own; a screenshot of each."""
    plane = control_plane
    page = signed_in(browser, plane, "owner")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on("console", lambda message: message.type == "error" and errors.append(f"{page.url}: {message.text}"))
    page.goto(f"{plane.url}/admin/console/clusters/")
    page.click("text=zeta")
    page.wait_for_url(f"{plane.url}/admin/console/clusters/*/")
    cluster = page.url.removeprefix(plane.url)
    pages = {**TOUR, "cluster": cluster, "cluster-upgrade": cluster + "upgrade/"}
    for language in ("en", "zh-hans"):
        if language != "en":  # the page opens in English (the browser's language)
            with page.expect_navigation():
                page.click(f"button[name=language][value={language}]")
        for name, path in pages.items():
            response = page.goto(plane.url + path)
            assert response is not None and response.status == 200, (path, response and response.status)
            page.wait_for_load_state("networkidle")
            if language == "zh-hans":
                found = untranslated(page.inner_html("body"))
                assert found == [], (path, found)
                screenshot(page, f"{name}-zh-hans")
            elif name not in ("dashboard",):  # the dashboard's is taken with data by the first test
                screenshot(page, name)
    assert errors == []
