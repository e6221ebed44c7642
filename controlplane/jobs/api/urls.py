"""Jobs' routes under ``/api/v1/tenants/<tenant>/workspaces/<workspace>/``: jobs, their versions and schedule,
runs, job templates."""

from __future__ import annotations

from django.urls import path

from controlplane.api.routes import DETAIL, collection
from controlplane.jobs.api.runs import JobRunViewSet, RunViewSet
from controlplane.jobs.api.templates import JobTemplateViewSet
from controlplane.jobs.api.views import JobViewSet

workspace_urlpatterns = [
    path("jobs/", collection(JobViewSet), name="job-list"),
    path("jobs/<str:pk>/", collection(JobViewSet, DETAIL), name="job-detail"),
    path("jobs/<str:pk>/versions/", JobViewSet.as_view({"get": "versions", "post": "revise"}), name="job-versions"),
    path("jobs/<str:pk>/versions/<int:number>/", JobViewSet.as_view({"get": "version"}), name="job-version"),
    path("jobs/<str:pk>/diff/", JobViewSet.as_view({"get": "diff"}), name="job-diff"),
    path("jobs/<str:pk>/rollback/", JobViewSet.as_view({"post": "rollback"}), name="job-rollback"),
    path("jobs/<str:pk>/runs/", collection(JobRunViewSet), name="job-runs"),
    path(
        "jobs/<str:pk>/schedule/",
        JobViewSet.as_view({"get": "schedule", "put": "set_schedule", "delete": "remove_schedule"}),
        name="job-schedule",
    ),
    path("runs/", collection(RunViewSet), name="run-list"),
    path("runs/<str:pk>/", RunViewSet.as_view({"get": "retrieve"}), name="run-detail"),
    path("runs/<str:pk>/logs/", RunViewSet.as_view({"get": "logs"}), name="run-logs"),
    *[
        path(f"runs/<str:pk>/{verb}/", RunViewSet.as_view({"post": verb}), name=f"run-{verb}")
        for verb in ("stop", "pause", "resume", "cancel", "retry", "reproduce", "resolve")
    ],
    path("job-templates/", JobTemplateViewSet.as_view({"get": "catalogue"}), name="job-template-list"),
    path(
        "job-templates/<str:name>/render/",
        JobTemplateViewSet.as_view({"post": "render"}),
        name="job-template-render",
    ),
]
