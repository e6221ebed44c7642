"""TenancyProjector: tenant and workspace read models from the tenant stream."""

from __future__ import annotations

from controlplane.eventlog.projectors import Projector, handles, register
from controlplane.eventlog.records import RecordedEvent
from controlplane.tenancy.domain import events  # noqa: F401  (registers the event types)
from controlplane.tenancy.models import Tenant, Workspace


class TenancyProjector(Projector):
    name = "tenancy"
    read_models = (Workspace, Tenant)

    @handles("tenancy.tenant_created")
    def on_tenant_created(self, event: RecordedEvent) -> None:
        data = event.data
        Tenant.objects.create(
            id=data.tenant_id, name=data.name, slug=data.slug, version=event.version, created_at=event.recorded_at
        )

    @handles("tenancy.tenant_renamed")
    def on_tenant_renamed(self, event: RecordedEvent) -> None:
        Tenant.objects.filter(id=event.data.tenant_id).update(name=event.data.name, version=event.version)

    @handles("tenancy.workspace_created")
    def on_workspace_created(self, event: RecordedEvent) -> None:
        data = event.data
        Workspace.objects.create(
            id=data.workspace_id,
            tenant_id=data.tenant_id,
            name=data.name,
            slug=data.slug,
            created_at=event.recorded_at,
        )
        Tenant.objects.filter(id=data.tenant_id).update(version=event.version)

    @handles("tenancy.tenant_disabled")
    def on_tenant_disabled(self, event: RecordedEvent) -> None:
        Tenant.objects.filter(id=event.data.tenant_id).update(
            disabled=True, disabled_reason=event.data.reason, version=event.version
        )

    @handles("tenancy.tenant_enabled")
    def on_tenant_enabled(self, event: RecordedEvent) -> None:
        Tenant.objects.filter(id=event.data.tenant_id).update(disabled=False, disabled_reason="", version=event.version)

    @handles("tenancy.quotas_set")
    def on_quotas_set(self, event: RecordedEvent) -> None:
        data = event.data
        Tenant.objects.filter(id=data.tenant_id).update(
            quota_clusters=data.clusters,
            quota_jobs=data.jobs,
            quota_concurrent_runs=data.concurrent_runs,
            version=event.version,
        )


register(TenancyProjector())
