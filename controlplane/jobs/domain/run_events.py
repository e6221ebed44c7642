"""Events of a run's stream (wire names are stable). A run is one execution of one job version on one cluster."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.eventlog.types import event_type


@event_type("jobs.run_requested")
@dataclass(frozen=True)
class RunRequested:
    """A run was asked for. The manifest is immutable: what runs, where, who and why (secrets as references).

    ``engine_job_id`` is chosen by us before the first submit, so a submission whose answer was lost is found
    again on the engine by that id and is never sent twice under two ids.
    """

    run_id: str
    job_id: str
    tenant_id: str
    workspace_id: str
    cluster_id: str
    job_version: int
    engine_job_id: int
    engine_job_name: str
    manifest: dict  # config text + format + normal form, engine version, cluster, connectors, started by, reason
    reason: str  # manual | retry | reproduce | schedule
    retry_of: str | None
    reproduces: str | None


@event_type("jobs.run_submission_started")
@dataclass(frozen=True)
class RunSubmissionStarted:
    """Recorded before the submit request leaves: a crash after this is reconciled by job id first."""

    run_id: str
    attempt: int
    resume: bool  # from the savepoint of the same engine job id


@event_type("jobs.run_submitted")
@dataclass(frozen=True)
class RunSubmitted:
    """The engine has the job: it answered the submit, or a reconcile found it by id."""

    run_id: str
    engine_job_id: int
    attempt: int
    found_by_reconcile: bool


@event_type("jobs.run_submit_outcome_unknown")
@dataclass(frozen=True)
class RunSubmitOutcomeUnknown:
    """The submit request left and no answer came back (timeout, connection reset): reconcile by id, never guess."""

    run_id: str
    attempt: int
    error_code: str
    error: str


@event_type("jobs.run_stop_requested")
@dataclass(frozen=True)
class RunStopRequested:
    run_id: str
    savepoint: bool  # True: pause (stop with savepoint)


@event_type("jobs.run_state_changed")
@dataclass(frozen=True)
class RunStateChanged:
    """The run moved. ``source``: engine (a poll), submit (the submit's answer), operator (a person decided)."""

    run_id: str
    previous: str
    state: str
    source: str
    engine_state: str | None
    error_code: str | None
    error: str | None  # the engine's errorMsg or our reason, as given
    metrics: dict | None  # the engine's job metrics at a terminal state
