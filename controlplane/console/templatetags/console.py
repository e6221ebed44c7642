"""Template helpers of the console: a state as a translated badge, a long id shortened with a copy button, a JSON
value as a readable tree."""

from __future__ import annotations

import json

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from controlplane.console.labels import STATES, TONES
from controlplane.console.timeline import ACTORS

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


@register.simple_tag(takes_context=True)
def pager(context: template.Context, rows: object) -> str:
    """ "Newer" / "Older" links of a paged list (a Paginator's page), keeping the page's query string (its filters)."""
    if not getattr(rows, "has_other_pages", lambda: False)():
        return ""
    query = context["request"].GET.copy()

    def link(number: int, label: str) -> str:
        query["page"] = str(number)
        return format_html('<a href="?{}" data-page="{}">{}</a>', query.urlencode(), number, label)

    links = []
    if rows.has_previous():  # type: ignore[attr-defined]
        links.append(link(rows.previous_page_number(), _("Newer")))  # type: ignore[attr-defined]
    if rows.has_next():  # type: ignore[attr-defined]
        links.append(link(rows.next_page_number(), _("Older")))  # type: ignore[attr-defined]
    return format_html('<p class="console-pages">{}</p>', mark_safe(" ".join(links)))  # noqa: S308 - escaped above


@register.filter
def actor(value: object) -> str:
    """A recorded actor (``user:alice``, ``system:jobs.sync_runs``) as a person reads it: "User alice"."""
    kind, _sep, name = str(value or "").partition(":")
    if not name:
        return kind or "—"
    label = ACTORS.get(kind)
    return format_html('{} <span translate="no">{}</span>', label, name) if label else format_html("{}", value)


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


TREE_DEPTH = 12  # deeper than any manifest, health or plan we show; a deeper value is shown as its JSON text


@register.simple_tag
def json_tree(value: object) -> str:
    """A JSON value as a readable tree: objects as key/value lists, lists numbered, nested parts foldable
    (open to two levels). Keys and values are data: ``translate="no"``."""
    return format_html('<div class="console-tree" translate="no">{}</div>', _tree(value, 0))


def _tree(value: object, depth: int) -> str:
    if isinstance(value, dict) and value and depth < TREE_DEPTH:
        items = [(str(key), item) for key, item in value.items()]
    elif isinstance(value, list | tuple) and value and depth < TREE_DEPTH:
        items = [(str(index), item) for index, item in enumerate(value)]
    else:
        return _leaf(value)
    rows = format_html_join(
        "",
        "<dt>{}</dt><dd>{}</dd>",
        ((key, _folded(item, depth + 1)) for key, item in items),
    )
    kind = "list" if isinstance(value, list | tuple) else "map"
    return format_html('<dl class="console-tree-{}">{}</dl>', kind, rows)


def _folded(value: object, depth: int) -> str:
    if isinstance(value, dict | list | tuple) and value and depth < TREE_DEPTH:
        count = len(value)
        return format_html(
            "<details{}><summary>{}</summary>{}</details>",
            " open" if depth < 2 else "",
            f"{{{count}}}" if isinstance(value, dict) else f"[{count}]",
            _tree(value, depth),
        )
    return _leaf(value)


def _leaf(value: object) -> str:
    if value is None:
        return mark_safe('<span class="console-tree-null">null</span>')  # a constant
    if isinstance(value, bool):
        return format_html('<span class="console-tree-bool">{}</span>', "true" if value else "false")
    if isinstance(value, int | float):
        return format_html('<span class="console-tree-number">{}</span>', value)
    if isinstance(value, str):
        return format_html('<span class="console-tree-string">{}</span>', value)
    return format_html("<code>{}</code>", json.dumps(value, default=str))  # an empty {} or [], or too deep
