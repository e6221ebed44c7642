"""The console's alerts, silences and alert rules pages: an alert fired through the writer is listed, acknowledged
with a comment, silenced from its page (matchers prefilled from its labels) and shown muted until the silence is
ended; rules are created, edited and deleted through the API's writers, their refusals shown at the field; a viewer
has no button and is refused (and audited); another tenant's alert is 404; every page is in Chinese."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from controlplane.alerts import subscribers
from controlplane.alerts.domain.rules import PARAMETERS
from controlplane.alerts.models import Alert, AlertRule, Silence
from controlplane.audit.models import AuditRecord
from tests.api.world import world_for_module
from tests.console import alerting
from tests.console.test_pages import client_of
from tests.console.test_translations import untranslated
from tests.eventlog.fingerprint import drain

pytestmark = pytest.mark.django_db

LABELS = {"alertname": "ConsoleTest", "cluster": "zeta", "job": "nightly", "severity": "warning"}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


def fire(world) -> str:  # type: ignore[no-untyped-def]
    return alerting.fire(world.acme.id, world.acme_ws.id, LABELS, "nightly is late")


def latest_audit(action: str) -> AuditRecord:
    return AuditRecord.objects.filter(action=f"console.{action}").latest("id")


def test_an_alert_is_acknowledged_silenced_from_its_page_shown_muted_and_unmuted_when_the_silence_ends(world):
    fp = fire(world)
    client = client_of(world.users["operator"])
    listed = client.get(reverse("admin:console-alerts")).content.decode()
    assert f'data-alert="{fp}"' in listed
    page_url = reverse("admin:console-alert", args=[fp])
    page = client.get(page_url).content.decode()
    assert 'data-action="acknowledge"' in page and 'data-action="silence"' in page
    assert 'data-event="alerts.alert_fired"' in page and "nightly is late" in page

    answer = client.post(reverse("admin:console-alert-acknowledge", args=[fp]), {"comment": "on it"})
    assert answer.status_code == 302 and answer["Location"] == page_url
    alert = Alert.unscoped.get(id=fp)
    assert (alert.acknowledged, alert.acknowledged_by, alert.acknowledge_comment) == (
        True,
        "user:operator-user",
        "on it",
    )
    assert (latest_audit("acknowledge").result, latest_audit("acknowledge").resource_id) == ("ok", fp)
    page = client.get(page_url).content.decode()
    assert 'data-event="alerts.alert_acknowledged"' in page and 'data-action="acknowledge"' not in page

    form = client.get(reverse("admin:console-silence-new"), {"alert": fp}).content.decode()
    for name, value in LABELS.items():  # each label a matcher row, prefilled
        assert re.search(rf'name="matcher_name" value="{name}".*?name="matcher_value" value="{value}"', form, re.S)
    posted = client.post(
        reverse("admin:console-silence-create"),
        {
            "alert": fp,
            "matcher_name": ["alertname", "job", ""],
            "matcher_op": ["=", "=~", "="],
            "matcher_value": ["ConsoleTest", "night.*", ""],
            "duration": "2",
            "reason": "maintenance window",
        },
    )
    assert posted.status_code == 302 and posted["Location"] == page_url
    silence = Silence.unscoped.filter(reason="maintenance window").get()
    assert latest_audit("silence").resource_id == silence.id
    assert silence.matchers == [
        {"name": "alertname", "op": "=", "value": "ConsoleTest"},
        {"name": "job", "op": "=~", "value": "night.*"},
    ]
    assert timedelta(hours=1, minutes=59) < silence.ends_at - timezone.now() <= timedelta(hours=2)
    drain(subscribers.REFRESH_MUTING)  # what the worker does after the silence commits
    page = client.get(page_url).content.decode()
    assert 'data-muted="silenced"' in page and silence.id in page
    muted = client.get(reverse("admin:console-alerts"), {"silenced": "true"}).content.decode()
    assert f'data-alert="{fp}"' in muted

    silences = client.get(reverse("admin:console-silences")).content.decode()
    assert f'id="silence-{silence.id}"' in silences and 'data-action="end-silence"' in silences
    ended = client.post(reverse("admin:console-silence-end", args=[silence.id]))
    assert ended.status_code == 302
    assert Silence.unscoped.get(id=silence.id).status == "ended"
    drain(subscribers.REFRESH_MUTING)
    assert not Alert.unscoped.get(id=fp).silenced
    assert 'data-muted="silenced"' not in client.get(page_url).content.decode()


def test_the_list_follows_the_tenants_activity_and_its_live_part_keeps_the_filters(world):
    fp = fire(world)
    client = client_of(world.users["viewer"])
    listed = client.get(reverse("admin:console-alerts"), {"state": "firing", "severity": "warning"}).content.decode()
    rows_url = reverse("admin:console-alert-rows") + "?state=firing&amp;severity=warning"
    assert f'data-fragment="{rows_url}"' in listed and 'data-live="/ws/v1/tenants/acme/activity/"' in listed
    rows = reverse("admin:console-alert-rows")
    firing = client.get(rows, {"state": "firing", "severity": "warning"}).content.decode()
    assert f'data-alert="{fp}"' in firing and "<html" not in firing  # the table alone
    assert f'data-alert="{fp}"' not in client.get(rows, {"state": "resolved"}).content.decode()
    assert f'data-alert="{fp}"' not in client.get(rows, {"severity": "critical"}).content.decode()


def test_a_refused_silence_comes_back_on_the_form_with_the_input_kept_and_is_audited(world):
    fp = fire(world)
    client = client_of(world.users["operator"])
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    answer = client.post(
        reverse("admin:console-silence-create"),
        {
            "alert": fp,
            "matcher_name": ["job"],
            "matcher_op": ["="],
            "matcher_value": ["nightly"],
            "ends_at": past,
            "reason": "keep me",
        },
    )
    page = answer.content.decode()
    assert answer.status_code == 400 and 'data-field="ends_at"' in page and "ALERT_SILENCE_INVALID" in page
    assert 'value="keep me"' in page and 'value="nightly"' in page and f'value="{past}"' in page
    record = latest_audit("silence")
    assert (record.result, record.error_code) == ("failed", "ALERT_SILENCE_INVALID")
    no_matchers = client.post(reverse("admin:console-silence-create"), {"alert": fp, "duration": "1", "reason": "x"})
    assert no_matchers.status_code == 400 and 'data-field="matchers"' in no_matchers.content.decode()
    assert not Silence.unscoped.filter(reason__in=("keep me", "x")).exists()


def test_a_silence_from_the_silences_page_goes_to_a_workspace_the_user_sees(world):
    client = client_of(world.users["operator"])  # "all workspaces": the form asks for one
    form = client.get(reverse("admin:console-silence-new")).content.decode()
    assert f'<option value="{world.acme_ws.id}"' in form
    fields = {
        "matcher_name": ["job"],
        "matcher_op": ["="],
        "matcher_value": ["nightly"],
        "duration": "1",
        "reason": "from the list",
    }
    other = client.post(reverse("admin:console-silence-create"), {**fields, "workspace": world.beta_ws.id})
    assert other.status_code == 404 and not Silence.unscoped.filter(reason="from the list").exists()
    made = client.post(reverse("admin:console-silence-create"), {**fields, "workspace": world.acme_ws.id})
    assert made.status_code == 302 and made["Location"] == reverse("admin:console-silences")
    assert Silence.unscoped.get(reason="from the list").workspace_id == world.acme_ws.id


def test_a_viewer_sees_no_button_and_forged_posts_are_refused_and_audited(world):
    fp = fire(world)
    client = client_of(world.users["viewer"])
    page = client.get(reverse("admin:console-alert", args=[fp])).content.decode()
    assert "data-action" not in page
    silences = client.get(reverse("admin:console-silences")).content.decode()
    assert "data-action" not in silences
    refused = client.post(reverse("admin:console-alert-acknowledge", args=[fp]), {"comment": "forged"})
    assert refused.status_code == 403 and "alert.manage" in refused.content.decode()
    assert not Alert.unscoped.get(id=fp).acknowledged
    record = latest_audit("acknowledge")
    assert (record.result, record.error_code, record.tenant_id) == ("denied", "PERMISSION_DENIED", world.acme.id)
    forged = {
        "alert": fp,
        "matcher_name": ["job"],
        "matcher_op": ["="],
        "matcher_value": ["x"],
        "duration": "1",
        "reason": "forged",
    }
    assert client.post(reverse("admin:console-silence-create"), forged).status_code == 403
    assert client.post(reverse("admin:console-silence-end", args=[world.objects["acme_silence"]])).status_code == 403
    assert Silence.unscoped.get(id=world.objects["acme_silence"]).status == "active"
    assert not Silence.unscoped.filter(reason="forged").exists()


def test_another_tenants_alert_silence_and_rule_are_not_found(world):
    client = client_of(world.users["outsider"])
    assert client.get(reverse("admin:console-alert", args=[world.objects["acme_alert"]])).status_code == 404
    assert (
        client.post(reverse("admin:console-alert-acknowledge", args=[world.objects["acme_alert"]])).status_code == 404
    )
    assert client.post(reverse("admin:console-silence-end", args=[world.objects["acme_silence"]])).status_code == 404
    assert client.get(reverse("admin:console-alert-rule", args=[world.objects["acme_alert_rule"]])).status_code == 404
    assert world.objects["acme_alert"] not in client.get(reverse("admin:console-alerts")).content.decode()
    assert world.objects["acme_alert"] not in client.get(reverse("admin:console-alert-rows")).content.decode()
    assert Alert.unscoped.get(id=world.objects["acme_alert"]).acknowledged is False
    assert latest_audit("acknowledge").error_code == "NOT_FOUND"


def test_rules_are_created_edited_disabled_and_deleted_with_the_writers_refusals_at_their_field(world):
    client = client_of(world.users["operator"])
    form = client.get(reverse("admin:console-alert-rule-new"), {"kind": "no_progress"}).content.decode()
    # the kind's parameters, typed and prefilled (the example, the default); a matcher row and a label row to fill
    assert re.search(r'<input type="number" name="param:seconds" value="600" min="1" step="1"', form)
    assert re.search(r'<select name="param:metric">.*?<option value="SinkWriteCount"[^>]* selected>', form, re.S)
    assert 'name="matcher_name" value=""' in form and 'name="label_name" value=""' in form
    for kind, declared in PARAMETERS.items():  # every kind's form: one input per parameter, none of another kind
        drawn = client.get(reverse("admin:console-alert-rule-new"), {"kind": kind}).content.decode()
        assert set(re.findall(r'name="param:(\w+)"', drawn)) == {p.name for p in declared}, kind
    assert (
        'name="param:'
        not in client.get(reverse("admin:console-alert-rule-new"), {"kind": "run_failed"}).content.decode()
    )
    fields = {
        "workspace": world.acme_ws.id,
        "kind": "no_progress",
        "name": "no records",
        "severity": "critical",
        "param:seconds": "600",
        "param:metric": "SourceReceivedCount",
        "matcher_name": ["cluster", ""],
        "matcher_op": ["=~", "="],
        "matcher_value": ["prod-.*", ""],
        "label_name": ["team", "tier", ""],
        "label_value": ["etl", "gold", ""],
        "group_by": "cluster, job",
        "for_seconds": "0",
        "repeat_interval_seconds": "3600",
        "resolve_after_seconds": "0",
        "channel_ids": [world.objects["acme_channel"]],
    }
    created = client.post(reverse("admin:console-alert-rule-create"), fields)
    rule = AlertRule.unscoped.get(name="no records", deleted=False)
    assert created.status_code == 302 and created["Location"] == reverse("admin:console-alert-rule", args=[rule.id])
    assert (latest_audit("create_alert_rule").result, latest_audit("create_alert_rule").resource_id) == ("ok", rule.id)
    assert (rule.params, rule.matchers, rule.labels, rule.group_by, rule.channel_ids) == (
        {"seconds": 600, "metric": "SourceReceivedCount"},
        [{"name": "cluster", "op": "=~", "value": "prod-.*"}],
        {"team": "etl", "tier": "gold"},
        ["cluster", "job"],
        [world.objects["acme_channel"]],
    )
    shown = client.get(reverse("admin:console-alert-rule", args=[rule.id])).content.decode()
    assert 'name="param:seconds" value="600"' in shown and 'name="label_value" value="gold"' in shown
    assert re.search(r'<option value="SourceReceivedCount"[^>]* selected>', shown)
    assert re.search(r'name="matcher_name" value="cluster".*?<option value="=~"[^>]* selected>', shown, re.S)

    again = client.post(reverse("admin:console-alert-rule-create"), fields)
    assert again.status_code == 400 and 'data-field="name"' in again.content.decode()
    assert "ALERT_RULE_EXISTS" in again.content.decode()

    save = reverse("admin:console-alert-rule-save", args=[rule.id])
    for typed in ("0", "ten minutes"):  # refused at the parameter's own field, what was typed kept everywhere
        bad = client.post(save, {**fields, "param:seconds": typed, "name": "renamed"})
        page = bad.content.decode()
        assert bad.status_code == 400 and "params.seconds" in page
        assert re.search(rf'name="param:seconds" value="{typed}"[^>]*aria-invalid="true"', page)
        assert re.search(r'name="param:seconds".*?data-field="params.seconds".*?name="param:metric"', page, re.S)
        assert 'data-field="params"' not in page and 'data-field="form"' not in page
        assert 'value="renamed"' in page and 'name="label_value" value="gold"' in page
        assert re.search(r'name="matcher_value" value="prod-\.\*"', page)
        assert re.search(r'<option value="SourceReceivedCount"[^>]* selected>', page)
    bad_matcher = client.post(save, {**fields, "matcher_op": ["=~", "="], "matcher_value": ["prod-(", ""]})
    assert bad_matcher.status_code == 400 and 'data-field="matchers"' in bad_matcher.content.decode()
    assert 'name="matcher_value" value="prod-("' in bad_matcher.content.decode()
    bad_label = client.post(save, {**fields, "label_name": ["team-name"], "label_value": ["etl"]})
    assert bad_label.status_code == 400 and 'data-field="labels"' in bad_label.content.decode()
    assert 'name="label_name" value="team-name"' in bad_label.content.decode()
    assert AlertRule.unscoped.get(id=rule.id).name == "no records"
    cleared = {**fields, "name": "renamed", "matcher_name": [""], "label_name": ["team"], "label_value": ["data"]}
    assert client.post(save, cleared).status_code == 302
    saved = AlertRule.unscoped.get(id=rule.id)
    assert (saved.name, saved.matchers, saved.labels) == ("renamed", [], {"team": "data"})

    client.post(reverse("admin:console-alert-rule-disable", args=[rule.id]))
    assert AlertRule.unscoped.get(id=rule.id).enabled is False
    listed = client.get(reverse("admin:console-alert-rules")).content.decode()
    assert f'data-rule="{rule.id}"' in listed and 'data-action="enable"' in listed
    client.post(reverse("admin:console-alert-rule-delete", args=[rule.id]))
    assert AlertRule.unscoped.get(id=rule.id).deleted is True
    assert latest_audit("delete_alert_rule").result == "ok"

    viewer = client_of(world.users["viewer"])
    assert 'data-action="new-rule"' not in viewer.get(reverse("admin:console-alert-rules")).content.decode()
    assert viewer.post(reverse("admin:console-alert-rule-create"), {**fields, "name": "forged"}).status_code == 403
    assert not AlertRule.unscoped.filter(name="forged").exists()
    rule_page = viewer.get(
        reverse("admin:console-alert-rule", args=[world.objects["acme_alert_rule"]])
    ).content.decode()
    assert "data-action" not in rule_page
    assert (
        viewer.post(reverse("admin:console-alert-rule-delete", args=[world.objects["acme_alert_rule"]])).status_code
        == 403
    )


def test_the_alert_pages_in_chinese_have_no_english_of_their_own(world):
    fp = fire(world)
    client = client_of(world.users["owner"])
    client.post(reverse("admin:console-alert-acknowledge", args=[fp]), {"comment": "on it"})
    urls = [
        reverse("admin:console-alerts"),
        reverse("admin:console-alerts") + "?state=resolved",
        reverse("admin:console-alert", args=[fp]),
        reverse("admin:console-alert", args=[world.objects["acme_alert"]]),
        reverse("admin:console-silences") + "?status=all",
        reverse("admin:console-silence-new") + f"?alert={fp}",
        reverse("admin:console-alert-rules"),
        *(reverse("admin:console-alert-rule-new") + f"?kind={kind}" for kind in PARAMETERS),  # each kind's inputs
        reverse("admin:console-alert-rule", args=[world.objects["acme_alert_rule"]]),
    ]
    for language, expect_english in (("en", True), ("zh-hans", False)):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            found = untranslated(response.content.decode())
            assert bool(found) == expect_english, (language, url, found)
        refused = client.post(reverse("admin:console-silence-create"), {"alert": fp, "reason": "x", "duration": "1"})
        assert refused.status_code == 400
        assert bool(untranslated(refused.content.decode())) == expect_english
        bad_rule = {"workspace": world.acme_ws.id, "kind": "no_progress", "name": "zh", "param:seconds": "0"}
        refused = client.post(reverse("admin:console-alert-rule-create"), bad_rule)
        assert refused.status_code == 400 and 'data-field="params.seconds"' in refused.content.decode()
        assert bool(untranslated(refused.content.decode())) == expect_english
