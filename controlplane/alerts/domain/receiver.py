"""Alertmanager's webhook body (``version: "4"``), checked whole before anything is written. Pure: no Django.

https://prometheus.io/docs/alerting/latest/configuration/#webhook_config: ``{version, groupKey, truncatedAlerts,
status, receiver, groupLabels, commonLabels, commonAnnotations, externalURL, alerts: [{status, labels, annotations,
startsAt, endsAt, generatorURL, fingerprint}]}``. Anything else is ALERT_RECEIVER_PAYLOAD_INVALID with
``details.field``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from controlplane.alerts.domain.errors import AlertReceiverPayloadInvalid
from controlplane.alerts.domain.matching import LABEL_NAME
from controlplane.alerts.domain.rules import SEVERITIES

MAX_ALERTS = 1000
MAX_TEXT = 4000
ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time: Alertmanager's "no end"


@dataclass(frozen=True)
class ReceivedAlert:
    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str
    am_fingerprint: str

    @property
    def severity(self) -> str:
        severity = self.labels.get("severity", "")
        return severity if severity in SEVERITIES else "warning"

    @property
    def summary(self) -> str:
        return self.annotations.get("summary") or self.annotations.get("description") or self.labels["alertname"]


def _fail(message: str, field: str) -> AlertReceiverPayloadInvalid:
    return AlertReceiverPayloadInvalid(message, field=field)


def _strings(raw: object, field: str, *, names: bool) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise _fail(f"{field} must be an object of strings", field)
    for name, value in raw.items():
        if names and not LABEL_NAME.match(name):
            raise _fail(f"{field} has {str(name)[:50]!r}, not a label name", field)
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise _fail(f"{field}.{name} must be text of at most {MAX_TEXT} characters", f"{field}.{name}")
    return dict(raw)


def _time(raw: object, field: str, *, required: bool) -> datetime | None:
    if raw in (None, "", ZERO_TIME):
        if required:
            raise _fail(f"{field} is required here", field)
        return None
    if not isinstance(raw, str):
        raise _fail(f"{field} must be an RFC 3339 time", field)
    text = raw.replace("Z", "+00:00")
    # Go writes nanoseconds; Python reads at most microseconds
    if "." in text:
        head, tail = text.split(".", 1)
        digits = len(tail) - len(tail.lstrip("0123456789"))
        text = f"{head}.{tail[: min(digits, 6)]}{tail[digits:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(f"{field} is not an RFC 3339 time", field) from None
    if parsed.tzinfo is None:
        raise _fail(f"{field} needs a time zone", field)
    return parsed


def parse_webhook(body: object) -> list[ReceivedAlert]:
    if not isinstance(body, dict):
        raise _fail("the body must be a JSON object", "body")
    if body.get("version") != "4":
        raise _fail('only version "4" of the Alertmanager webhook is understood', "version")
    if body.get("status") not in ("firing", "resolved"):
        raise _fail("status must be firing or resolved", "status")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts or len(alerts) > MAX_ALERTS:
        raise _fail(f"alerts must be a list of 1..{MAX_ALERTS} alerts", "alerts")
    found: list[ReceivedAlert] = []
    for index, item in enumerate(alerts):
        where = f"alerts[{index}]"
        if not isinstance(item, dict):
            raise _fail(f"{where} must be an object", where)
        if item.get("status") not in ("firing", "resolved"):
            raise _fail(f"{where}.status must be firing or resolved", f"{where}.status")
        labels = _strings(item.get("labels"), f"{where}.labels", names=True)
        if not labels.get("alertname"):
            raise _fail(f"{where}.labels needs an alertname", f"{where}.labels.alertname")
        annotations = _strings(item.get("annotations", {}), f"{where}.annotations", names=False)
        starts_at = _time(item.get("startsAt"), f"{where}.startsAt", required=True)
        ends_at = _time(item.get("endsAt"), f"{where}.endsAt", required=item["status"] == "resolved")
        url, fp = item.get("generatorURL", ""), item.get("fingerprint", "")
        if not isinstance(url, str) or len(url) > MAX_TEXT:
            raise _fail(f"{where}.generatorURL must be text", f"{where}.generatorURL")
        if not isinstance(fp, str) or len(fp) > 64:
            raise _fail(f"{where}.fingerprint must be text of at most 64 characters", f"{where}.fingerprint")
        assert starts_at is not None
        found.append(ReceivedAlert(item["status"], labels, annotations, starts_at, ends_at, url, fp))
    return found
