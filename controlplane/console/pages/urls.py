"""The console's pages under ``/admin/console/`` (names ``admin:console-*``), each behind the site's login but the
invitee's (``invitation.py``), which has none yet."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from controlplane.console.pages import (
    alert_rules,
    alerts,
    audit,
    channels,
    cluster_wizards,
    clusters,
    dashboard,
    diagnostics,
    invitation,
    job_forms,
    job_versions,
    jobs,
    members,
    operations,
    runs,
    secrets,
    settings,
    tokens,
)
from controlplane.console.pages.frame import TENANT_KEY, WORKSPACE_KEY
from controlplane.iam import access


@require_POST
def switch_scope(request: HttpRequest) -> HttpResponse:
    """Choose the tenant and workspace the pages show: only ones the user may see are kept; "" = all workspaces."""
    tenant = access.visible_tenants(request.user).filter(id=request.POST.get("tenant", "")).first()
    if tenant is not None:
        request.session[TENANT_KEY] = tenant.id
        workspace = access.visible_workspaces(request.user, tenant).filter(id=request.POST.get("workspace", "")).first()
        request.session[WORKSPACE_KEY] = workspace.id if workspace is not None else ""
    return HttpResponseRedirect(reverse("admin:console-dashboard"))


def patterns(site: AdminSite) -> list[URLPattern]:
    page = site.admin_view
    return [
        path("console/", page(dashboard.dashboard), name="console-dashboard"),
        path("console/live/", page(dashboard.dashboard_live), name="console-dashboard-live"),
        path("console/scope/", page(switch_scope), name="console-scope"),
        path("console/jobs/", page(jobs.job_list), name="console-jobs"),
        # jobs: create, new version, schedule, compare and roll back versions
        path("console/jobs/new/", page(job_forms.job_create), name="console-job-create"),
        path("console/jobs/<str:job_id>/revise/", page(job_forms.job_revise), name="console-job-revise"),
        path("console/jobs/<str:job_id>/schedule/", page(job_forms.job_schedule), name="console-job-schedule"),
        path(
            "console/jobs/<str:object_id>/schedule/remove/",
            page(job_forms.remove_schedule),
            name="console-job-schedule-remove",
        ),
        path("console/jobs/<str:job_id>/diff/", page(job_versions.job_diff), name="console-job-diff"),
        path(
            "console/jobs/<str:job_id>/rollback/<int:number>/",
            page(job_versions.job_rollback),
            name="console-job-rollback",
        ),
        path("console/jobs/<str:object_id>/roll-back/", page(job_versions.roll_back_job), name="console-job-roll-back"),
        path("console/jobs/<str:job_id>/", page(jobs.job_detail), name="console-job"),
        path("console/jobs/<str:object_id>/run/", page(jobs.run_job), name="console-job-run"),
        path("console/runs/", page(runs.run_list), name="console-runs"),
        path("console/runs/<str:run_id>/", page(runs.run_detail), name="console-run"),
        path("console/runs/<str:run_id>/state/", page(runs.run_state), name="console-run-state"),
        path("console/runs/<str:object_id>/stop/", page(runs.stop_run), name="console-run-stop"),
        path("console/runs/<str:object_id>/pause/", page(runs.pause_run), name="console-run-pause"),
        path("console/runs/<str:object_id>/resume/", page(runs.resume_run), name="console-run-resume"),
        path("console/runs/<str:object_id>/retry/", page(runs.retry_run), name="console-run-retry"),
        path("console/audit/", page(audit.audit), name="console-audit"),
        # alerts, silences, alert rules, notification channels
        path("console/alerts/", page(alerts.alert_list), name="console-alerts"),
        path("console/alerts/rows/", page(alerts.alert_rows), name="console-alert-rows"),
        path("console/alerts/<str:alert_id>/", page(alerts.alert_detail), name="console-alert"),
        path(
            "console/alerts/<str:object_id>/acknowledge/",
            page(alerts.acknowledge_alert),
            name="console-alert-acknowledge",
        ),
        path("console/silences/", page(alerts.silence_list), name="console-silences"),
        path("console/silences/new/", page(alerts.silence_new), name="console-silence-new"),
        path("console/silences/create/", page(alerts.create_silence), name="console-silence-create"),
        path("console/silences/<str:object_id>/end/", page(alerts.end_silence), name="console-silence-end"),
        path("console/alert-rules/", page(alert_rules.rule_list), name="console-alert-rules"),
        path("console/alert-rules/new/", page(alert_rules.rule_new), name="console-alert-rule-new"),
        path("console/alert-rules/create/", page(alert_rules.create_rule), name="console-alert-rule-create"),
        path("console/alert-rules/<str:rule_id>/", page(alert_rules.rule_detail), name="console-alert-rule"),
        path(
            "console/alert-rules/<str:object_id>/save/", page(alert_rules.update_rule), name="console-alert-rule-save"
        ),
        path(
            "console/alert-rules/<str:object_id>/enable/",
            page(alert_rules.enable_rule),
            name="console-alert-rule-enable",
        ),
        path(
            "console/alert-rules/<str:object_id>/disable/",
            page(alert_rules.disable_rule),
            name="console-alert-rule-disable",
        ),
        path(
            "console/alert-rules/<str:object_id>/delete/",
            page(alert_rules.delete_rule),
            name="console-alert-rule-delete",
        ),
        path("console/channels/", page(channels.channel_list), name="console-channels"),
        path("console/channels/new/", page(channels.channel_new), name="console-channel-new"),
        path("console/channels/create/", page(channels.create_channel), name="console-channel-create"),
        path("console/channels/<str:channel_id>/", page(channels.channel_detail), name="console-channel"),
        path(
            "console/channels/<str:channel_id>/deliveries/",
            page(channels.channel_deliveries),
            name="console-channel-deliveries",
        ),
        path("console/channels/<str:object_id>/save/", page(channels.update_channel), name="console-channel-save"),
        path("console/channels/<str:object_id>/enable/", page(channels.enable_channel), name="console-channel-enable"),
        path(
            "console/channels/<str:object_id>/disable/", page(channels.disable_channel), name="console-channel-disable"
        ),
        path("console/channels/<str:object_id>/delete/", page(channels.delete_channel), name="console-channel-delete"),
        path("console/channels/<str:object_id>/test/", page(channels.send_test), name="console-channel-test"),
        path(
            "console/deliveries/<str:object_id>/redeliver/", page(channels.redeliver), name="console-delivery-redeliver"
        ),
        # settings: the tenant, workspaces, members and roles, API tokens, secrets
        path("console/settings/", page(settings.overview), name="console-settings"),
        path("console/settings/tenants/new/", page(settings.create_tenant), name="console-tenant-create"),
        path(
            "console/settings/tenants/<str:object_id>/rename/",
            page(settings.rename_tenant),
            name="console-tenant-rename",
        ),
        path(
            "console/settings/tenants/<str:object_id>/quotas/", page(settings.set_quotas), name="console-tenant-quotas"
        ),
        path(
            "console/settings/tenants/<str:object_id>/disable/",
            page(settings.disable_tenant),
            name="console-tenant-disable",
        ),
        path(
            "console/settings/tenants/<str:object_id>/enable/",
            page(settings.enable_tenant),
            name="console-tenant-enable",
        ),
        path("console/settings/workspaces/", page(settings.workspaces), name="console-workspaces"),
        path("console/settings/workspaces/new/", page(settings.create_workspace), name="console-workspace-create"),
        path("console/settings/members/", page(members.members), name="console-members"),
        path("console/settings/members/grant/", page(members.grant_role), name="console-member-grant"),
        path(
            "console/settings/members/<str:object_id>/revoke/", page(members.revoke_role), name="console-member-revoke"
        ),
        path("console/settings/object-grants/grant/", page(members.grant_object_role), name="console-object-grant"),
        path(
            "console/settings/object-grants/<str:object_id>/revoke/",
            page(members.revoke_object_role),
            name="console-object-grant-revoke",
        ),
        path("console/settings/invitations/new/", page(members.invite_user), name="console-invite"),
        # the invitee sets a password: open without a login (not ``page``), CSRF-protected like every form
        path("console/invitation/", invitation.accept_invitation, name="console-invitation"),
        path(
            "console/settings/invitations/<str:object_id>/revoke/",
            page(members.revoke_invitation),
            name="console-invitation-revoke",
        ),
        path("console/settings/tokens/", page(tokens.tokens), name="console-tokens"),
        path("console/settings/tokens/new/", page(tokens.create_token), name="console-token-create"),
        path("console/settings/tokens/<str:object_id>/revoke/", page(tokens.revoke_token), name="console-token-revoke"),
        path("console/settings/secrets/", page(secrets.secret_list), name="console-secrets"),
        path("console/settings/secrets/new/", page(secrets.create_secret), name="console-secret-create"),
        path("console/settings/secrets/<str:secret_id>/", page(secrets.secret_detail), name="console-secret"),
        path(
            "console/settings/secrets/<str:object_id>/update/",
            page(secrets.update_secret),
            name="console-secret-update",
        ),
        path(
            "console/settings/secrets/<str:object_id>/delete/",
            page(secrets.delete_secret),
            name="console-secret-delete",
        ),
        path(
            "console/settings/secrets/<str:secret_id>/reveal/",
            page(secrets.secret_reveal_confirm),
            name="console-secret-reveal",
        ),
        path(
            "console/settings/secrets/<str:object_id>/revealed/",
            page(secrets.reveal_secret),
            name="console-secret-revealed",
        ),
        # operations and diagnostics
        path("console/operations/", page(operations.operation_list), name="console-operations"),
        path("console/operations/<str:operation_id>/", page(operations.operation_detail), name="console-operation"),
        path(
            "console/operations/<str:operation_id>/state/",
            page(operations.operation_state),
            name="console-operation-state",
        ),
        path(
            "console/operations/<str:object_id>/cancel/",
            page(operations.cancel_operation),
            name="console-operation-cancel",
        ),
        path("console/diagnostics/", page(diagnostics.diagnostics), name="console-diagnostics"),
        path(
            "console/diagnostics/clusters/<str:object_id>/diagnose/",
            page(diagnostics.diagnose_cluster),
            name="console-cluster-diagnose",
        ),
        path(
            "console/diagnostics/archives/<str:object_id>/download/",
            page(diagnostics.download_archive),
            name="console-archive-download",
        ),
        path("console/findings/<str:finding_id>/", page(diagnostics.finding_detail), name="console-finding"),
        path("console/findings/<str:finding_id>/fix/", page(diagnostics.fix_plan), name="console-finding-fix-plan"),
        path("console/findings/<str:object_id>/fix/confirm/", page(diagnostics.apply_fix), name="console-finding-fix"),
        # clusters and nodes
        path("console/clusters/", page(clusters.cluster_index), name="console-clusters"),
        path("console/clusters/<str:cluster_id>/", page(clusters.cluster_detail), name="console-cluster"),
        path("console/clusters/<str:cluster_id>/live/", page(clusters.cluster_live), name="console-cluster-live"),
        *(
            path(f"console/clusters/<str:object_id>/node/{verb}/", page(view), name=f"console-cluster-node-{verb}")
            for verb, view in clusters.NODE_VIEWS.items()
        ),
        *(
            path(f"console/clusters/<str:cluster_id>/{name}/", page(view), name=f"console-cluster-{name}")
            for name, view in cluster_wizards.WIZARD_PAGES.items()
        ),
        *(
            path(f"console/clusters/<str:object_id>/{name}/run/", page(view), name=f"console-cluster-{name}-run")
            for name, view in cluster_wizards.WIZARD_RUNS.items()
        ),
        # runs: reproduce
        path("console/runs/<str:object_id>/reproduce/", page(runs.reproduce_run), name="console-run-reproduce"),
    ]
