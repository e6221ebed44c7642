"""The only writers of tenancy: each loads the tenant stream, decides, appends."""

from __future__ import annotations

import uuid
from dataclasses import replace

from controlplane.eventlog.aggregates import AggregateSpec, execute, load
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.iam.access import authorize, authorize_platform
from controlplane.tenancy.domain import aggregate
from controlplane.tenancy.domain.aggregate import TenancyError, TenantState
from controlplane.tenancy.models import Tenant

TENANT = AggregateSpec[TenantState](
    name="tenancy.tenant",
    initial=TenantState,
    evolve=aggregate.evolve,
    to_snapshot=aggregate.to_snapshot,
    from_snapshot=aggregate.from_snapshot,
)


def tenant_stream(tenant_id: str) -> StreamRef:
    return StreamRef(type="tenancy.tenant", id=f"tenant-{tenant_id}")


def do_create_tenant(*, metadata: Metadata, name: str, slug: str, tenant_id: str | None = None) -> str:
    """Create a tenant; returns its id. The metadata's tenant is the new tenant itself."""
    authorize_platform(metadata, "create tenants")
    tenant_id = tenant_id or uuid.uuid4().hex
    if Tenant.objects.filter(slug=slug).exists():
        raise TenancyError(f"tenant slug {slug!r} is taken", code="TENANT_SLUG_TAKEN", field="slug")
    meta = replace(metadata, tenant_id=tenant_id)
    execute(
        TENANT,
        tenant_stream(tenant_id),
        lambda state: aggregate.create_tenant(state, tenant_id=tenant_id, name=name, slug=slug),
        meta,
    )
    return tenant_id


def do_rename_tenant(*, metadata: Metadata, tenant_id: str, name: str, expected_version: int | None = None) -> None:
    authorize(metadata, "tenant.update", tenant_id=tenant_id)
    execute(
        TENANT,
        tenant_stream(tenant_id),
        lambda state: aggregate.rename_tenant(state, tenant_id=tenant_id, name=name),
        replace(metadata, tenant_id=tenant_id),
        expected_version=expected_version,
    )


def do_create_workspace(
    *, metadata: Metadata, tenant_id: str, name: str, slug: str, workspace_id: str | None = None
) -> str:
    authorize(metadata, "workspace.create", tenant_id=tenant_id)
    workspace_id = workspace_id or uuid.uuid4().hex
    meta = replace(metadata, tenant_id=tenant_id, workspace_id=workspace_id)
    execute(
        TENANT,
        tenant_stream(tenant_id),
        lambda state: aggregate.create_workspace(
            state, tenant_id=tenant_id, workspace_id=workspace_id, name=name, slug=slug
        ),
        meta,
    )
    return workspace_id


def do_disable_tenant(*, metadata: Metadata, tenant_id: str, reason: str = "") -> None:
    """Disable a tenant: its users and tokens are refused from now on; its data stays."""
    authorize(metadata, "tenant.disable", tenant_id=tenant_id)
    execute(
        TENANT,
        tenant_stream(tenant_id),
        lambda state: aggregate.disable_tenant(state, tenant_id=tenant_id, reason=reason),
        replace(metadata, tenant_id=tenant_id),
    )


def do_enable_tenant(*, metadata: Metadata, tenant_id: str) -> None:
    authorize(metadata, "tenant.disable", tenant_id=tenant_id)
    execute(
        TENANT,
        tenant_stream(tenant_id),
        lambda state: aggregate.enable_tenant(state, tenant_id=tenant_id),
        replace(metadata, tenant_id=tenant_id),
    )


def do_set_quotas(
    *, metadata: Metadata, tenant_id: str, quotas: dict[str, int | None], expected_version: int | None = None
) -> None:
    """Set some or all of the tenant's quotas (clusters, jobs, concurrent_runs); None lifts a limit."""
    authorize(metadata, "tenant.update", tenant_id=tenant_id)
    execute(
        TENANT,
        tenant_stream(tenant_id),
        lambda state: aggregate.set_quotas(state, tenant_id=tenant_id, quotas=quotas),
        replace(metadata, tenant_id=tenant_id),
        expected_version=expected_version,
    )


def check_quota(tenant_id: str, resource: str, in_use: int) -> None:
    """For the actions that create quota-bound things: raise TENANT_QUOTA_EXCEEDED past the limit."""
    state, _ = load(TENANT, tenant_stream(tenant_id).id)
    aggregate.check_quota(state, resource, in_use)
