"""A notice as each channel shows it, from the templates under ``templates/notifications/<language>/``: one per
event (firing, resolved, test) and format (``md``: the robots' markdown, in the subset DingTalk, WeCom and Feishu
all render; ``subject.txt``, ``txt``, ``html``: email). Text formats are rendered without HTML escaping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.template import Context, Engine

from controlplane.notifications.domain.notice import Notice

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
FORMATS = ("md", "subject.txt", "txt", "html")
EVENTS = ("firing", "resolved", "test")
_TEXT = Engine(dirs=[str(TEMPLATE_DIR)], autoescape=False)
_HTML = Engine(dirs=[str(TEMPLATE_DIR)], autoescape=True)

SEVERITY_LABELS = {
    "en": {"critical": "Critical", "warning": "Warning", "info": "Info"},
    "zh-Hans": {"critical": "严重", "warning": "警告", "info": "提示"},
}
STATUS_LABELS = {
    "en": {"firing": "Firing", "resolved": "Resolved"},
    "zh-Hans": {"firing": "告警中", "resolved": "已恢复"},
}


@dataclass(frozen=True)
class Rendered:
    title: str  # one line: a robot message's title, an email's subject
    markdown: str
    text: str
    html: str


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def event_of(notice: Notice) -> str:
    return "test" if notice.kind == "test" else notice.status


def render_one(notice: Notice, language: str, fmt: str, *, channel_name: str = "") -> str:
    engine = _HTML if fmt == "html" else _TEXT
    template = engine.get_template(f"notifications/{language}/{event_of(notice)}.{fmt}")
    context = {
        "notice": notice,
        "labels": list(notice.labels),
        "severity": SEVERITY_LABELS[language][notice.severity],
        "status": STATUS_LABELS[language][notice.status],
        "starts_at": _utc(notice.starts_at),
        "ends_at": _utc(notice.ends_at) if notice.ends_at else "",
        "channel_name": channel_name,
    }
    return template.render(Context(context, autoescape=engine.autoescape)).strip() + (
        "\n" if fmt != "subject.txt" else ""
    )


def render(notice: Notice, language: str, *, channel_name: str = "") -> Rendered:
    subject = " ".join(render_one(notice, language, "subject.txt", channel_name=channel_name).split())
    return Rendered(
        title=subject,
        markdown=render_one(notice, language, "md", channel_name=channel_name),
        text=render_one(notice, language, "txt", channel_name=channel_name),
        html=render_one(notice, language, "html", channel_name=channel_name),
    )
