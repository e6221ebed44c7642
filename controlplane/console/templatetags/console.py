"""Template helpers of the console: a state as a translated badge, a long id shortened with a copy button."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from controlplane.console.labels import STATES, TONES

register = template.Library()


@register.simple_tag
def state(code: str | None) -> str:
    """The state's label in the user's language; the code itself stays in ``data-state`` (tests, scripts)."""
    code = code or ""
    label = STATES.get(code)
    return format_html(
        '<span class="console-badge console-{}" data-state="{}"{}>{}</span>',
        TONES.get(code, "plain"),
        code,
        "" if label is not None else ' translate="no"',
        label if label is not None else code or "—",
    )


@register.simple_tag
def short_id(value: object) -> str:
    """The first 8 characters, the whole id in the title and behind a copy button."""
    text = str(value or "")
    if not text:
        return "—"
    return format_html(
        '<span class="console-id" translate="no" title="{}"><code>{}</code>'
        '<button type="button" class="console-copy" data-copy="{}" aria-label="{}">'
        '<span class="material-symbols-outlined" style="font-size: 14px">content_copy</span></button></span>',
        text,
        text[:8] if len(text) > 12 else text,
        text,
        _("Copy"),
    )
