"""Every template renders in both languages, for firing, resolved and test, with the glossary's terms."""

from __future__ import annotations

import pytest

from controlplane.notifications.domain.notice import notice_for_test_send
from controlplane.notifications.rendering import EVENTS, FORMATS, TEMPLATE_DIR, render, render_one
from tests.notifications.conftest import firing, resolved

NOTICES = {
    "firing": firing(summary="<b>5 < 6</b>"),
    "resolved": resolved(),
    "test": notice_for_test_send(now=firing().starts_at, channel_name="ops", tenant_name="Acme"),
}


def test_there_is_one_template_per_language_event_and_format():
    found = {p.relative_to(TEMPLATE_DIR / "notifications").as_posix() for p in TEMPLATE_DIR.rglob("*.*")}
    assert found == {f"{lang}/{event}.{fmt}" for lang in ("en", "zh-Hans") for event in EVENTS for fmt in FORMATS}


@pytest.mark.parametrize("language", ["en", "zh-Hans"])
@pytest.mark.parametrize("event", EVENTS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_template_renders(language, event, fmt):
    text = render_one(NOTICES[event], language, fmt, channel_name="ops")
    assert text.strip()
    assert "{{" not in text and "{%" not in text
    if event != "test":
        assert "RunFailed" in text
    else:
        assert "ops" in text
    if fmt == "html":
        assert "<html" in text
        if event == "firing":
            assert "&lt;b&gt;5 &lt; 6&lt;/b&gt;" in text  # escaped in HTML ...
    elif event == "firing":
        assert "<b>5 < 6</b>" in text  # ... and as written in text and markdown


def test_chinese_uses_the_glossary_terms():
    firing_zh = render(NOTICES["firing"], "zh-Hans")
    assert firing_zh.title.startswith("[告警中][严重] RunFailed")
    assert "告警" in firing_zh.text and "租户" in firing_zh.text and "查看告警" in firing_zh.markdown
    assert "恢复时间" in render(NOTICES["resolved"], "zh-Hans").text
    assert "通知渠道 **ops**" in render(NOTICES["test"], "zh-Hans", channel_name="ops").markdown
    english = render(NOTICES["resolved"], "en")
    assert english.title == "[Resolved] RunFailed: run 42 of job nightly failed"
    assert "Resolved: 2026-12-04 18:30:00 UTC" in english.text
