"""A run's timeline: each event of its stream as one step a person reads (what happened, when, who did it, why),
in the user's language. Event types this release does not know are shown by their wire name."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from controlplane.eventlog.records import RecordedEvent

ACTORS = {
    "user": gettext_lazy("User"),
    "token": gettext_lazy("API token"),
    "agent": gettext_lazy("Agent"),
    "system": gettext_lazy("Control plane"),
}
REASONS = {
    "manual": gettext_lazy("Started by hand"),
    "retry": gettext_lazy("A retry"),
    "reproduce": gettext_lazy("A reproduction"),
    "schedule": gettext_lazy("Started by its schedule"),
}
SOURCES = {
    "engine": gettext_lazy("Seen on the engine"),
    "submit": gettext_lazy("The engine's answer to the submission"),
    "operator": gettext_lazy("Decided by a person"),
}


@dataclass(frozen=True)
class Step:
    at: datetime
    what: str  # translated; empty when ``code`` stands for it
    actor_kind: str  # translated
    actor: str  # data: the user name, token id or the control plane's task
    why: str = ""  # translated
    detail: str = ""  # data: an error text or code, as recorded
    previous: str = ""  # a state change's codes (badges)
    state: str = ""
    related: str = ""  # another run this one retries or reproduces
    code: str = ""  # the wire name of an event type without words here


def run_timeline(events: list[RecordedEvent]) -> list[Step]:
    return [_step(event) for event in events]


def _step(event: RecordedEvent) -> Step:
    data, actor = event.payload, event.metadata.actor
    who = Step(at=event.recorded_at, what="", actor_kind=str(ACTORS.get(actor.kind, actor.kind)), actor=actor.id)
    kind = event.event_type
    if kind == "jobs.run_requested":
        reason = str(data.get("reason", ""))
        related = data.get("retry_of") or data.get("reproduces") or ""
        return replace(who, what=_("Requested"), why=str(REASONS.get(reason, reason)), related=related)
    if kind == "jobs.run_submission_started":
        if data.get("resume"):
            what = _("Resuming from the savepoint (attempt %(n)s)") % {"n": data.get("attempt")}
        else:
            what = _("Submitting to the engine (attempt %(n)s)") % {"n": data.get("attempt")}
        return replace(who, what=what)
    if kind == "jobs.run_submitted":
        found = data.get("found_by_reconcile")
        why = _("Found on the engine by its job id") if found else ""
        return replace(who, what=_("The engine accepted the job"), why=why)
    if kind == "jobs.run_submit_outcome_unknown":
        detail = f"{data.get('error_code', '')}: {data.get('error', '')}"
        return replace(who, what=_("The submission's answer was lost"), detail=detail)
    if kind == "jobs.run_stop_requested":
        return replace(who, what=_("Pause requested") if data.get("savepoint") else _("Stop requested"))
    if kind == "jobs.run_state_changed":
        source = str(data.get("source", ""))
        detail = ": ".join(str(p) for p in (data.get("error_code"), data.get("error")) if p)
        return replace(
            who,
            previous=str(data.get("previous", "")),
            state=str(data.get("state", "")),
            why=str(SOURCES.get(source, source)),
            detail=detail,
        )
    return replace(who, code=kind)
