"""Events of the tenant stream (wire names are stable; see docs/eventlog.md)."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.eventlog.types import event_type


@event_type("tenancy.tenant_created")
@dataclass(frozen=True)
class TenantCreated:
    tenant_id: str
    name: str
    slug: str


@event_type("tenancy.tenant_renamed")
@dataclass(frozen=True)
class TenantRenamed:
    tenant_id: str
    name: str


@event_type("tenancy.workspace_created")
@dataclass(frozen=True)
class WorkspaceCreated:
    tenant_id: str
    workspace_id: str
    name: str
    slug: str


@event_type("tenancy.tenant_disabled")
@dataclass(frozen=True)
class TenantDisabled:
    tenant_id: str
    reason: str


@event_type("tenancy.tenant_enabled")
@dataclass(frozen=True)
class TenantEnabled:
    tenant_id: str


@event_type("tenancy.quotas_set")
@dataclass(frozen=True)
class QuotasSet:
    """Limits per tenant; None means no limit."""

    tenant_id: str
    clusters: int | None
    jobs: int | None
    concurrent_runs: int | None
