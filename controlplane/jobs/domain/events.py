"""Events of a job's stream: its definition and its immutable config versions (wire names are stable)."""

from __future__ import annotations

from dataclasses import dataclass, field

from controlplane.eventlog.types import event_type, upcaster


@event_type("jobs.job_created")
@dataclass(frozen=True)
class JobCreated:
    job_id: str
    tenant_id: str
    workspace_id: str
    name: str
    description: str
    labels: dict[str, str]
    cluster_id: str  # "" when the job targets a cluster selector
    cluster_selector: dict[str, str] = field(default_factory=dict)  # labels a cluster must carry


@event_type("jobs.job_version_added", version=3)
@dataclass(frozen=True)
class JobVersionAdded:
    """A new immutable config version: the text as given, its format, its normal form, who and why, and the job
    variables its `${name}` references may use (v2). v3: the normal form keeps dotted keys flat (ZETA_FACTS §3.1);
    ``ambiguous`` lists the nested plugin options an upcast of an older version could not settle (empty for a
    version written or read again from its text).

    The v2 -> v3 upcaster reads the config text again, so it lives outside this pure core:
    ``controlplane/jobs/upcasters.py`` (registered with the projections)."""

    job_id: str
    version: int
    format: str
    text: str
    normalised: dict
    mode: str  # BATCH | STREAMING, from env.job.mode
    message: str
    rolled_back_from: int | None  # the version this one copies, for a roll back
    variables: list  # [{"name": ..., "default": ...}] (default absent: none), sorted by name
    ambiguous: list  # ["source[0].schema", ...]: options kept nested by the upcast of a split normal form


@upcaster("jobs.job_version_added", from_version=1)
def _version_added_v1(payload: dict) -> dict:
    """Versions written before job variables declared none (their configs could not reference any)."""
    return {**payload, "variables": []}


@event_type("jobs.job_updated")
@dataclass(frozen=True)
class JobUpdated:
    job_id: str
    changes: dict  # name, description, labels, cluster_id, cluster_selector


@event_type("jobs.job_deleted")
@dataclass(frozen=True)
class JobDeleted:
    job_id: str


@event_type("jobs.job_schedule_set")
@dataclass(frozen=True)
class JobScheduleSet:
    """Run the job on a cron schedule (5 fields) read in an IANA time zone."""

    job_id: str
    cron: str
    timezone: str
    enabled: bool
    allow_overlap: bool  # False: a fire time is skipped while a run of the job is still active


@event_type("jobs.job_schedule_removed")
@dataclass(frozen=True)
class JobScheduleRemoved:
    job_id: str


@event_type("jobs.job_schedule_fired")
@dataclass(frozen=True)
class JobScheduleFired:
    """A fire time was handled: a run started (run_id), or it was skipped (skipped says why).
    ``missed``: earlier fire times that passed while nothing fired (the control plane was down); they are
    not made up for, only counted."""

    job_id: str
    fire_at: str  # ISO 8601, UTC
    run_id: str | None
    skipped: str | None
    missed: int
