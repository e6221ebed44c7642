"""Read models of jobs, written only by ``projections.JobsProjector``."""

from __future__ import annotations

from django.db import models

from controlplane.tenancy.scoping import TenantOwned


class Job(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    labels = models.JSONField(default=dict)
    cluster_id = models.CharField(max_length=64, blank=True, default="")  # "": a cluster selector instead
    cluster_selector = models.JSONField(default=dict, blank=True)  # labels; a run picks a matching cluster
    mode = models.CharField(max_length=16)  # of the current version
    current_version = models.PositiveIntegerField()
    version = models.PositiveIntegerField()  # of the stream: the ETag
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deleted = models.BooleanField(default=False)

    class Meta:
        ordering = ["tenant_id", "workspace_id", "name"]
        default_permissions = ()

    def __str__(self) -> str:
        return self.name


class JobVersion(TenantOwned):
    """One immutable config version of a job."""

    id = models.CharField(max_length=80, primary_key=True)  # "<job id>:<version>": the same after a rebuild
    job_id = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    format = models.CharField(max_length=8)
    text = models.TextField()
    normalised = models.JSONField()
    mode = models.CharField(max_length=16)
    variables = models.JSONField(default=list, blank=True)  # [{"name", "default"?}]: what `${name}` may use
    # options an upcast of a version stored with split dotted keys kept nested, for a person to check
    ambiguous = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=500, blank=True, default="")
    author = models.CharField(max_length=170)
    rolled_back_from = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["job_id", "version"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["job_id", "version"], name="jobs_version_unique")]

    def __str__(self) -> str:
        return f"{self.job_id} v{self.version}"


class Run(TenantOwned):
    """One execution of one job version on one cluster, written only by ``projections.RunsProjector``."""

    id = models.CharField(max_length=64, primary_key=True)
    job_id = models.CharField(max_length=64, db_index=True)
    job_version = models.PositiveIntegerField()
    cluster_id = models.CharField(max_length=64)
    state = models.CharField(max_length=16)
    engine_job_id = models.BigIntegerField()  # 64-bit: exact in the database, a string in JSON
    engine_job_name = models.CharField(max_length=200)
    engine_state = models.CharField(max_length=32, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    error = models.TextField(blank=True, default="")
    reason = models.CharField(max_length=16)
    retry_of = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001  (None: not a retry)
    reproduces = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    manifest = models.JSONField()
    started_by = models.CharField(max_length=170)
    attempts = models.PositiveIntegerField(default=0)
    acknowledged = models.BooleanField(default=False)
    metrics = models.JSONField(null=True, blank=True)  # the engine's, at the last terminal or paused state
    version = models.PositiveIntegerField()  # of the stream: the ETag
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        default_permissions = ()
        indexes = [models.Index(fields=["cluster_id", "state"], name="jobs_run_cluster_state")]

    def __str__(self) -> str:
        return f"run {self.id} of {self.job_id} v{self.job_version}"


class RunTelemetry(TenantOwned):
    """What the engine last said about a run's progress: live metrics and the engine's log text.

    Observations, not decisions: written by the sync loop and the log fetch, not by a projector, and never
    events (a poll every few seconds would flood the log). A rebuild of the read models leaves it alone.
    """

    run_id = models.CharField(max_length=64, primary_key=True)
    metrics = models.JSONField(default=dict)
    metrics_at = models.DateTimeField(null=True, blank=True)
    log_text = models.TextField(blank=True, default="")
    log_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"telemetry of run {self.run_id}"


class JobSchedule(TenantOwned):
    """A job's cron schedule and when it fires next, written only by ``projections.JobsProjector``."""

    job_id = models.CharField(max_length=64, primary_key=True)
    cron = models.CharField(max_length=120)
    timezone = models.CharField(max_length=64)
    enabled = models.BooleanField()
    allow_overlap = models.BooleanField()
    next_fire_at = models.DateTimeField(null=True, blank=True, db_index=True)  # null: disabled
    last_fire_at = models.DateTimeField(null=True, blank=True)
    last_run_id = models.CharField(max_length=64, blank=True, default="")
    last_skipped = models.CharField(max_length=200, blank=True, default="")
    missed = models.PositiveIntegerField(default=0)  # fire times passed while nothing fired, in total

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.cron} ({self.timezone}) for {self.job_id}"
