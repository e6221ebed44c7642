"""Read models of jobs, written only by ``projections.JobsProjector``."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from controlplane.tenancy.scoping import TenantOwned


class Job(TenantOwned):
    id = models.CharField(max_length=64, primary_key=True, verbose_name=_("ID"))
    name = models.CharField(max_length=100, verbose_name=_("name"))
    description = models.TextField(blank=True, default="", verbose_name=_("description"))
    labels = models.JSONField(default=dict, verbose_name=_("labels"))
    # "": a cluster selector instead
    cluster_id = models.CharField(max_length=64, blank=True, default="", verbose_name=_("cluster id"))
    # labels; a run picks a matching cluster
    cluster_selector = models.JSONField(default=dict, blank=True, verbose_name=_("cluster selector"))
    mode = models.CharField(max_length=16, verbose_name=_("mode"))  # of the current version
    current_version = models.PositiveIntegerField(verbose_name=_("current version"))
    version = models.PositiveIntegerField(verbose_name=_("version"))  # of the stream: the ETag
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))
    deleted = models.BooleanField(default=False, verbose_name=_("deleted"))

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["tenant_id", "workspace_id", "name"]
        default_permissions = ()

    def __str__(self) -> str:
        return self.name


class JobVersion(TenantOwned):
    """One immutable config version of a job."""

    # "<job id>:<version>": the same after a rebuild
    id = models.CharField(max_length=80, primary_key=True, verbose_name=_("ID"))
    job_id = models.CharField(max_length=64, verbose_name=_("job id"))
    version = models.PositiveIntegerField(verbose_name=_("version"))
    format = models.CharField(max_length=8, verbose_name=_("format"))
    text = models.TextField(verbose_name=_("text"))
    normalised = models.JSONField(verbose_name=_("normalised"))
    mode = models.CharField(max_length=16, verbose_name=_("mode"))
    # [{"name", "default"?}]: what `${name}` may use
    variables = models.JSONField(default=list, blank=True, verbose_name=_("variables"))
    # options an upcast of a version stored with split dotted keys kept nested, for a person to check
    ambiguous = models.JSONField(default=list, blank=True, verbose_name=_("ambiguous"))
    message = models.CharField(max_length=500, blank=True, default="", verbose_name=_("message"))
    author = models.CharField(max_length=170, verbose_name=_("author"))
    rolled_back_from = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("rolled back from"))
    created_at = models.DateTimeField(verbose_name=_("created at"))

    class Meta:
        verbose_name = _("job version")
        verbose_name_plural = _("job versions")
        ordering = ["job_id", "version"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["job_id", "version"], name="jobs_version_unique")]

    def __str__(self) -> str:
        return f"{self.job_id} v{self.version}"


class Run(TenantOwned):
    """One execution of one job version on one cluster, written only by ``projections.RunsProjector``."""

    id = models.CharField(max_length=64, primary_key=True, verbose_name=_("ID"))
    job_id = models.CharField(max_length=64, db_index=True, verbose_name=_("job id"))
    job_version = models.PositiveIntegerField(verbose_name=_("job version"))
    cluster_id = models.CharField(max_length=64, verbose_name=_("cluster id"))
    state = models.CharField(max_length=16, verbose_name=_("state"))
    # 64-bit: exact in the database, a string in JSON
    engine_job_id = models.BigIntegerField(verbose_name=_("engine job id"))
    engine_job_name = models.CharField(max_length=200, verbose_name=_("engine job name"))
    engine_state = models.CharField(max_length=32, blank=True, default="", verbose_name=_("engine state"))
    error_code = models.CharField(max_length=64, blank=True, default="", verbose_name=_("error code"))
    error = models.TextField(blank=True, default="", verbose_name=_("error"))
    reason = models.CharField(max_length=16, verbose_name=_("reason"))
    # None: not a retry
    retry_of = models.CharField(max_length=64, null=True, blank=True, verbose_name=_("retry of"))  # noqa: DJ001
    reproduces = models.CharField(max_length=64, null=True, blank=True, verbose_name=_("reproduces"))  # noqa: DJ001
    manifest = models.JSONField(verbose_name=_("manifest"))
    started_by = models.CharField(max_length=170, verbose_name=_("started by"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    acknowledged = models.BooleanField(default=False, verbose_name=_("acknowledged"))
    # the engine's, at the last terminal or paused state
    metrics = models.JSONField(null=True, blank=True, verbose_name=_("metrics"))
    version = models.PositiveIntegerField(verbose_name=_("version"))  # of the stream: the ETag
    created_at = models.DateTimeField(verbose_name=_("created at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))
    submitted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("submitted at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("run")
        verbose_name_plural = _("runs")
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

    run_id = models.CharField(max_length=64, primary_key=True, verbose_name=_("run id"))
    metrics = models.JSONField(default=dict, verbose_name=_("metrics"))
    metrics_at = models.DateTimeField(null=True, blank=True, verbose_name=_("metrics at"))
    log_text = models.TextField(blank=True, default="", verbose_name=_("log text"))
    log_at = models.DateTimeField(null=True, blank=True, verbose_name=_("log at"))

    class Meta:
        verbose_name = _("run telemetry")
        verbose_name_plural = _("run telemetries")
        default_permissions = ()

    def __str__(self) -> str:
        return f"telemetry of run {self.run_id}"


class JobSchedule(TenantOwned):
    """A job's cron schedule and when it fires next, written only by ``projections.JobsProjector``."""

    job_id = models.CharField(max_length=64, primary_key=True, verbose_name=_("job id"))
    cron = models.CharField(max_length=120, verbose_name=_("cron"))
    timezone = models.CharField(max_length=64, verbose_name=_("timezone"))
    enabled = models.BooleanField(verbose_name=_("enabled"))
    allow_overlap = models.BooleanField(verbose_name=_("allow overlap"))
    # null: disabled
    next_fire_at = models.DateTimeField(null=True, blank=True, db_index=True, verbose_name=_("next fire at"))
    last_fire_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last fire at"))
    last_run_id = models.CharField(max_length=64, blank=True, default="", verbose_name=_("last run id"))
    last_skipped = models.CharField(max_length=200, blank=True, default="", verbose_name=_("last skipped"))
    # fire times passed while nothing fired, in total
    missed = models.PositiveIntegerField(default=0, verbose_name=_("missed"))

    class Meta:
        verbose_name = _("job schedule")
        verbose_name_plural = _("job schedules")
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.cron} ({self.timezone}) for {self.job_id}"
