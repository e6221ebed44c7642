"""Fire an alert through the alerts writer, as the evaluator would: for the console's page tests and the browser
tests' probe (which runs it inside the control plane's own environment)."""

from __future__ import annotations

from django.utils import timezone

from controlplane.alerts.actions import do_fire_alert
from controlplane.alerts.domain.alert import Firing
from controlplane.alerts.domain.matching import fingerprint
from controlplane.eventlog.metadata import Metadata


def fire(tenant_id: str, workspace_id: str, labels: dict[str, str], summary: str) -> str:
    """Fires the alert named by ``labels["alertname"]`` (severity from ``labels["severity"]``); returns its
    fingerprint."""
    fp = fingerprint("console-tests", labels)
    firing = Firing(
        fingerprint=fp,
        source="controlplane",
        rule_id="",
        rule_name=labels["alertname"],
        severity=labels["severity"],
        labels=labels,
        annotations={},
        summary=summary,
        channel_ids=[],
        group_key=f'{{}}:{{cluster="{labels.get("cluster", "")}"}}',
        repeat_interval_seconds=3600,
    )
    fired = do_fire_alert(
        metadata=Metadata.for_system(tenant_id, reason="console tests", workspace_id=workspace_id),
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        firing=firing,
        starts_at=timezone.now(),
    )
    assert fired, "the alert fires already"
    return fp
