"""What is sent: one notice, the same for every channel kind (the alerts app builds it; "send test" too). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

NOTICE_KINDS = ("alert", "test")
STATUSES = ("firing", "resolved")
SEVERITIES = ("critical", "warning", "info")


@dataclass(frozen=True)
class Notice:
    kind: str  # "alert" | "test"
    status: str  # "firing" | "resolved"
    severity: str  # "critical" | "warning" | "info"
    name: str  # the alert rule's name (alertname)
    summary: str  # one line, as the rule says it
    labels: tuple[tuple[str, str], ...]  # sorted
    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None
    url: str = ""  # a link to the alert in the control plane, may be empty
    tenant_name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in NOTICE_KINDS:
            raise ValueError(f"notice kind {self.kind!r} is not one of {NOTICE_KINDS}")
        if self.status not in STATUSES:
            raise ValueError(f"notice status {self.status!r} is not one of {STATUSES}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"notice severity {self.severity!r} is not one of {SEVERITIES}")
        if list(self.labels) != sorted(self.labels):
            raise ValueError("notice labels must be sorted")

    def to_json(self) -> dict[str, Any]:
        """The notice as JSON (the deliveries table keeps it; the webhook kind sends it)."""
        return {
            "kind": self.kind,
            "status": self.status,
            "severity": self.severity,
            "name": self.name,
            "summary": self.summary,
            "labels": dict(self.labels),
            "fingerprint": self.fingerprint,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
            "url": self.url,
            "tenant_name": self.tenant_name,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notice:
        return cls(
            kind=data["kind"],
            status=data["status"],
            severity=data["severity"],
            name=data["name"],
            summary=data["summary"],
            labels=tuple(sorted((str(k), str(v)) for k, v in data["labels"].items())),
            fingerprint=data["fingerprint"],
            starts_at=datetime.fromisoformat(data["starts_at"]),
            ends_at=datetime.fromisoformat(data["ends_at"]) if data["ends_at"] else None,
            url=data.get("url", ""),
            tenant_name=data.get("tenant_name", ""),
        )


def notice_for_test_send(*, now: datetime, channel_name: str, tenant_name: str = "") -> Notice:
    """What "send test" sends: a firing info notice naming the channel."""
    return Notice(
        kind="test",
        status="firing",
        severity="info",
        name="NotificationTest",
        summary=f"test notice for channel {channel_name}",
        labels=(("channel", channel_name),),
        fingerprint="test",
        starts_at=now,
        ends_at=None,
        tenant_name=tenant_name,
    )
