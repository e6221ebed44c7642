"""Errors of the alerts context, each with a stable code (docs/ALERTS.md, docs/API.md)."""

from __future__ import annotations

from controlplane.errors import DomainError


class AlertsError(DomainError):
    code = "ALERTS_ERROR"


class AlertRuleInvalid(AlertsError):
    """A rule that cannot be stored: ``details.field`` names the offending field."""

    code = "ALERT_RULE_INVALID"


class AlertRuleNotFound(AlertsError):
    code = "ALERT_RULE_NOT_FOUND"


class AlertRuleExists(AlertsError):
    code = "ALERT_RULE_EXISTS"


class AlertNotFound(AlertsError):
    code = "ALERT_NOT_FOUND"


class AlertNotFiring(AlertsError):
    """Acknowledging an alert that is resolved (or never fired)."""

    code = "ALERT_NOT_FIRING"


class AlertSilenceInvalid(AlertsError):
    """A silence without an end, an end before its start, a malformed matcher: ``details.field``."""

    code = "ALERT_SILENCE_INVALID"


class AlertSilenceNotFound(AlertsError):
    code = "ALERT_SILENCE_NOT_FOUND"


class AlertSilenceEnded(AlertsError):
    """Ending a silence that has already ended or expired."""

    code = "ALERT_SILENCE_ENDED"


class AlertReceiverPayloadInvalid(AlertsError):
    """An Alertmanager webhook body that is not version 4 of its format: ``details.field`` names where."""

    code = "ALERT_RECEIVER_PAYLOAD_INVALID"


class AlertTransitionIllegal(AlertsError):
    code = "ALERT_TRANSITION_ILLEGAL"


class AlertInputInvalid(AlertsError):
    """An acknowledgement comment or a list filter that cannot be used: ``details.field``."""

    code = "ALERT_INPUT_INVALID"
