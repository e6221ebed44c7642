"""Jobs, runs and schedules in the console: read-only (changes go through the API and its actions)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from controlplane.eventlog.admin import ReadOnlyAdmin
from controlplane.jobs import selectors
from controlplane.jobs.models import Job, JobSchedule, JobVersion, Run

LOG_TAIL_LINES = 200


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("name", "tenant_id", "workspace_id", "mode", "current_version", "cluster_id", "updated_at")
    list_filter = ("mode", "deleted")
    search_fields = ("name", "id", "tenant_id")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return selectors.job_list_for_platform()  # the console is for platform staff: every tenant


@admin.register(JobVersion)
class JobVersionAdmin(ReadOnlyAdmin):
    list_display = ("job_id", "version", "format", "mode", "author", "message", "created_at")
    search_fields = ("job_id",)

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return selectors.version_list_for_platform()


@admin.register(JobSchedule)
class JobScheduleAdmin(ReadOnlyAdmin):
    list_display = ("job_id", "cron", "timezone", "enabled", "next_fire_at", "last_fire_at", "last_skipped", "missed")
    list_filter = ("enabled", "timezone")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return selectors.schedule_list_for_platform()


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ("id", "job_name", "job_version", "state", "engine_state", "reason", "created_at", "finished_at")
    list_filter = ("state", "reason", "engine_state")
    search_fields = ("id", "job_id", "engine_job_name", "tenant_id")
    readonly_fields = ("log_tail",)

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return selectors.run_list_for_platform()

    @admin.display(description="job")
    def job_name(self, run: Run) -> str:
        return str(run.manifest.get("job", {}).get("name", run.job_id))

    @admin.display(description="engine log (last lines)")
    def log_tail(self, run: Run) -> str:
        telemetry = selectors.telemetry_for_platform(run.id)
        lines = telemetry.log_text.splitlines()[-LOG_TAIL_LINES:] if telemetry else []
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", "\n".join(lines) or "(not fetched yet)")
