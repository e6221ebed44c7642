"""The job aggregate: definition fields and the list of config versions. Pure: no Django."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from controlplane.errors import DomainError
from controlplane.jobs.domain import schedule as cron
from controlplane.jobs.domain.events import (
    JobCreated,
    JobDeleted,
    JobScheduleFired,
    JobScheduleRemoved,
    JobScheduleSet,
    JobUpdated,
    JobVersionAdded,
)

EDITABLE = ("name", "description", "labels", "cluster_id", "cluster_selector")


class JobError(DomainError):
    code = "JOB_INVALID"


@dataclass(frozen=True)
class JobState:
    exists: bool = False
    deleted: bool = False
    fields: dict[str, Any] = field(default_factory=dict)
    # "n" -> {format, text, normalised, mode, variables}
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # {cron, timezone, enabled, allow_overlap, since}: since = when set, or the last fire time handled (ISO, UTC)
    schedule: dict[str, Any] | None = None

    @property
    def current_version(self) -> int:
        return max((int(n) for n in self.versions), default=0)


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise JobError("job name must be 1..100 characters", code="JOB_NAME_INVALID", field="name")
    return name


def create(
    state: JobState,
    *,
    job_id: str,
    tenant_id: str,
    workspace_id: str,
    name: str,
    description: str,
    labels: dict[str, str],
    cluster_id: str,
    version: dict[str, Any],
    message: str,
    cluster_selector: dict[str, str] | None = None,
) -> list[object]:
    if state.exists:
        raise JobError("job already exists", code="JOB_EXISTS")
    return [
        JobCreated(
            job_id=job_id,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            name=check_name(name),
            description=description.strip()[:1000],
            labels=dict(sorted(labels.items())),
            cluster_id=cluster_id,
            cluster_selector=dict(sorted((cluster_selector or {}).items())),
        ),
        JobVersionAdded(job_id=job_id, version=1, message=message.strip()[:500], rolled_back_from=None, **version),
    ]


def revise(state: JobState, *, job_id: str, version: dict[str, Any], message: str) -> list[object]:
    _require_live(state, job_id)
    current = state.versions[str(state.current_version)]
    if (
        current["text"] == version["text"]
        and current["format"] == version["format"]
        and current.get("variables", []) == version["variables"]
    ):
        return []  # nothing changed: no new version
    return [
        JobVersionAdded(
            job_id=job_id,
            version=state.current_version + 1,
            message=message.strip()[:500],
            rolled_back_from=None,
            **version,
        )
    ]


def roll_back(state: JobState, *, job_id: str, to_version: int, message: str) -> list[object]:
    _require_live(state, job_id)
    old = state.versions.get(str(to_version))
    if old is None:
        raise JobError(f"job has no version {to_version}", code="JOB_VERSION_NOT_FOUND", field="to_version")
    if to_version == state.current_version:
        raise JobError("that is the current version", code="JOB_VERSION_CURRENT", field="to_version")
    return [
        JobVersionAdded(
            job_id=job_id,
            version=state.current_version + 1,
            format=old["format"],
            text=old["text"],
            normalised=old["normalised"],
            mode=old["mode"],
            message=message.strip()[:500] or f"roll back to version {to_version}",
            rolled_back_from=to_version,
            variables=old.get("variables", []),  # a snapshot taken before variables has none
            ambiguous=old.get("ambiguous", []),  # the copy is as (un)settled as the version it copies
        )
    ]


def update(state: JobState, *, job_id: str, changes: dict[str, Any]) -> list[object]:
    _require_live(state, job_id)
    if "name" in changes:
        changes = {**changes, "name": check_name(changes["name"])}
    effective = {k: v for k, v in changes.items() if k in EDITABLE and state.fields.get(k) != v}
    return [JobUpdated(job_id=job_id, changes=effective)] if effective else []


def delete(state: JobState, *, job_id: str) -> list[object]:
    _require_live(state, job_id)
    return [JobDeleted(job_id=job_id)]


def set_schedule(
    state: JobState, *, job_id: str, cron_expr: str, timezone: str, enabled: bool, allow_overlap: bool
) -> list[object]:
    _require_live(state, job_id)
    cron_expr, timezone = cron.check(cron_expr, timezone)
    wanted = {"cron": cron_expr, "timezone": timezone, "enabled": enabled, "allow_overlap": allow_overlap}
    if state.schedule is not None and all(state.schedule[k] == v for k, v in wanted.items()):
        return []
    return [
        JobScheduleSet(job_id=job_id, cron=cron_expr, timezone=timezone, enabled=enabled, allow_overlap=allow_overlap)
    ]


def remove_schedule(state: JobState, *, job_id: str) -> list[object]:
    _require_live(state, job_id)
    if state.schedule is None:
        raise JobError("the job has no schedule", code="JOB_SCHEDULE_NOT_FOUND")
    return [JobScheduleRemoved(job_id=job_id)]


def fired(
    state: JobState, *, job_id: str, fire_at: str, run_id: str | None, skipped: str | None, missed: int
) -> list[object]:
    """Record one handled fire time; one later than the last handled one only (a second beat loses here)."""
    _require_live(state, job_id)
    if state.schedule is None or fire_at <= state.schedule["since"]:
        return []
    return [JobScheduleFired(job_id=job_id, fire_at=fire_at, run_id=run_id, skipped=skipped, missed=missed)]


def _require_live(state: JobState, job_id: str) -> None:
    if not state.exists or state.deleted:
        raise JobError("no such job", code="JOB_NOT_FOUND", job_id=job_id)


def evolve(state: JobState, event: Any) -> JobState:
    data = event.data
    if isinstance(data, JobCreated):
        return JobState(exists=True, fields={k: getattr(data, k) for k in (*EDITABLE, "tenant_id", "workspace_id")})
    if isinstance(data, JobVersionAdded):
        entry = {
            "format": data.format,
            "text": data.text,
            "normalised": data.normalised,
            "mode": data.mode,
            "variables": data.variables,
            "ambiguous": data.ambiguous,
        }
        return replace(state, versions={**state.versions, str(data.version): entry})
    if isinstance(data, JobUpdated):
        return replace(state, fields={**state.fields, **data.changes})
    if isinstance(data, JobDeleted):
        return replace(state, deleted=True, schedule=None)
    if isinstance(data, JobScheduleSet):
        since = event.recorded_at.isoformat()
        if state.schedule is not None and state.schedule["since"] > since:
            since = state.schedule["since"]
        fields = {"cron": data.cron, "timezone": data.timezone, "enabled": data.enabled}
        return replace(state, schedule={**fields, "allow_overlap": data.allow_overlap, "since": since})
    if isinstance(data, JobScheduleRemoved):
        return replace(state, schedule=None)
    if isinstance(data, JobScheduleFired) and state.schedule is not None:
        return replace(state, schedule={**state.schedule, "since": data.fire_at})
    return state


def to_snapshot(state: JobState) -> dict[str, Any]:
    return {
        "exists": state.exists,
        "deleted": state.deleted,
        "fields": state.fields,
        "versions": state.versions,
        "schedule": state.schedule,
    }


def from_snapshot(data: dict[str, Any]) -> JobState:
    return JobState(**data)
