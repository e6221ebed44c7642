"""The console's words for the product's codes (states, results), in both languages (GLOSSARY.md). A code with no
label here is shown as the code itself."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

STATES = {
    "PENDING": _("Pending"),
    "SUBMITTING": _("Submitting"),
    "RUNNING": _("Running"),
    "STOPPING": _("Stopping"),
    "SUCCEEDED": _("Succeeded"),
    "FAILED": _("Failed"),
    "STOPPED": _("Stopped"),
    "PAUSED": _("Paused"),
    "UNKNOWN": _("Unknown"),
    "CANCELLED": _("Cancelled"),
    "ROLLED_BACK": _("Rolled back"),
    "online": _("Online"),
    "stale": _("Stale"),
    "lost": _("Lost"),
    "revoked": _("Revoked"),
    "ok": _("OK"),
    "denied": _("Denied"),
    "failed": _("Failed"),
    "BATCH": _("Batch"),
    "STREAMING": _("Streaming"),
    # alerts, silences, notification channels and deliveries
    "firing": _("Firing"),
    "resolved": _("Resolved"),
    "critical": _("Critical"),
    "warning": _("Warning"),
    "info": _("Info"),
    "active": _("Active"),
    "ended": _("Ended"),
    "expired": _("Expired"),
    "enabled": _("Enabled"),
    "disabled": _("Disabled"),
    "queued": _("Queued"),
    "sending": _("Sending"),
    "delivered": _("Delivered"),
    "retrying": _("Retrying"),
    "dead": _("Dead"),
}
# Colour of a state's badge (console.css): good, bad, busy, or neutral.
TONES = {
    "SUCCEEDED": "good", "online": "good", "ok": "good",
    "FAILED": "bad", "lost": "bad", "denied": "bad", "failed": "bad", "UNKNOWN": "bad",
    "PENDING": "busy", "SUBMITTING": "busy", "RUNNING": "busy", "STOPPING": "busy", "stale": "busy",
    "firing": "bad", "critical": "bad", "dead": "bad", "warning": "busy", "active": "busy", "queued": "busy",
    "sending": "busy", "retrying": "busy", "resolved": "good", "delivered": "good", "enabled": "good",
}  # fmt: skip
