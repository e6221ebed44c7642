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
}
# Colour of a state's badge (console.css): good, bad, busy, or neutral.
TONES = {
    "SUCCEEDED": "good", "online": "good", "ok": "good",
    "FAILED": "bad", "lost": "bad", "denied": "bad", "failed": "bad", "UNKNOWN": "bad",
    "PENDING": "busy", "SUBMITTING": "busy", "RUNNING": "busy", "STOPPING": "busy", "stale": "busy",
}  # fmt: skip

# Operations and their steps (pages/operations.py).
STATES |= {
    "CANCELLING": _("Cancelling"),
    "ROLLING_BACK": _("Rolling back"),
    "RETRY_WAIT": _("Waiting to retry"),
    "SKIPPED": _("Skipped"),
    "COMPENSATING": _("Compensating"),
    "COMPENSATED": _("Compensated"),
    "COMPENSATION_FAILED": _("Compensation failed"),
    "DELIVERED": _("Delivered"),
    "REFUSED": _("Refused"),
    "EXPIRED": _("Expired"),
    "available": _("Available"),
    "expired": _("Expired"),
}
TONES |= {
    "CANCELLING": "busy", "ROLLING_BACK": "busy", "RETRY_WAIT": "busy", "COMPENSATING": "busy", "DELIVERED": "busy",
    "COMPENSATED": "plain", "COMPENSATION_FAILED": "bad", "REFUSED": "bad", "EXPIRED": "bad", "available": "good",
}  # fmt: skip
OPERATION_TYPES = {
    "rolling_restart": _("Rolling restart"),
    "run_action": _("Agent action"),
    "install_cluster": _("Install cluster"),
    "upgrade_cluster": _("Rolling upgrade"),
    "scale_out": _("Scale out"),
    "scale_in": _("Scale in"),
    "diagnose": _("Diagnose"),
    "collect_diagnostics": _("Collect diagnostics"),
}
