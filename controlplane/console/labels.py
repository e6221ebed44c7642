"""The console's words for the product's codes (states, results), in both languages (GLOSSARY.md). A code with no
label here is shown as the code itself."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

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

# Settings (pages/settings.py, members.py, tokens.py): tenants, invitations, API tokens, roles.
STATES |= {
    "active": _("Active"),
    "disabled": _("Disabled"),
    "pending": _("Pending"),
    "accepted": _("Accepted"),
    "expired": _("Expired"),
}
TONES |= {"active": "good", "accepted": "good", "disabled": "bad", "pending": "busy"}
ROLES = {"viewer": _("Viewer"), "operator": _("Operator"), "admin": _("Admin"), "owner": _("Owner")}
STATES |= ROLES  # a role as a badge

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

# The theme switch of unfold's own account menu: unfold ships no Chinese catalog, and Django looks a msgid up in
# every catalog, so these are translated in ours (listed here so makemessages keeps them).
THEME_WORDS = (_("Light"), _("Dark"), _("System"))
# The same for the frame of the pages open without a login (the login page, the invitation page).
SIGN_IN_WORDS = (_("Return to site"), _("Welcome back to"))
# Django 5.2's password-length reason has a new msgid that its Chinese catalog lacks: ours has it (the invitation
# page shows the validators' reasons).
PASSWORD_WORDS = (
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
        1,  # never evaluated: listed for makemessages
    ),
)
