"""The tenant aggregate: pure decide/evolve, no Django."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from controlplane.errors import DomainError
from controlplane.tenancy.domain.events import (
    QuotasSet,
    TenantCreated,
    TenantDisabled,
    TenantEnabled,
    TenantRenamed,
    WorkspaceCreated,
)

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$")


class TenancyError(DomainError):
    code = "TENANCY_ERROR"


@dataclass(frozen=True)
class TenantState:
    exists: bool = False
    name: str = ""
    slug: str = ""
    workspaces: dict[str, str] = field(default_factory=dict)  # slug -> workspace id
    disabled: bool = False
    quotas: dict[str, int | None] = field(default_factory=dict)


def _check_name(name: str, what: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise TenancyError(f"{what} name must be 1..100 characters", code="TENANCY_NAME_INVALID", field="name")
    return name


def _check_slug(slug: str) -> str:
    if not SLUG.match(slug):
        raise TenancyError(
            "slug must be 1..50 lower-case letters, digits and inner hyphens",
            code="TENANCY_SLUG_INVALID",
            field="slug",
        )
    return slug


def create_tenant(state: TenantState, *, tenant_id: str, name: str, slug: str) -> list[object]:
    if state.exists:
        raise TenancyError("tenant already exists", code="TENANT_EXISTS", tenant_id=tenant_id)
    return [TenantCreated(tenant_id=tenant_id, name=_check_name(name, "tenant"), slug=_check_slug(slug))]


def rename_tenant(state: TenantState, *, tenant_id: str, name: str) -> list[object]:
    _require_tenant(state, tenant_id)
    name = _check_name(name, "tenant")
    return [] if name == state.name else [TenantRenamed(tenant_id=tenant_id, name=name)]


def create_workspace(state: TenantState, *, tenant_id: str, workspace_id: str, name: str, slug: str) -> list[object]:
    if not state.exists:
        raise TenancyError("no such tenant", code="TENANT_NOT_FOUND", tenant_id=tenant_id)
    if _check_slug(slug) in state.workspaces:
        raise TenancyError(
            f"workspace {slug!r} already exists in this tenant", code="WORKSPACE_SLUG_TAKEN", field="slug"
        )
    return [
        WorkspaceCreated(tenant_id=tenant_id, workspace_id=workspace_id, name=_check_name(name, "workspace"), slug=slug)
    ]


def _require_tenant(state: TenantState, tenant_id: str) -> None:
    if not state.exists:
        raise TenancyError("no such tenant", code="TENANT_NOT_FOUND", tenant_id=tenant_id)


def disable_tenant(state: TenantState, *, tenant_id: str, reason: str) -> list[object]:
    _require_tenant(state, tenant_id)
    if state.disabled:
        return []
    return [TenantDisabled(tenant_id=tenant_id, reason=reason.strip()[:200])]


def enable_tenant(state: TenantState, *, tenant_id: str) -> list[object]:
    _require_tenant(state, tenant_id)
    return [TenantEnabled(tenant_id=tenant_id)] if state.disabled else []


QUOTA_NAMES = ("clusters", "jobs", "concurrent_runs")


def set_quotas(state: TenantState, *, tenant_id: str, quotas: dict[str, int | None]) -> list[object]:
    _require_tenant(state, tenant_id)
    unknown = set(quotas) - set(QUOTA_NAMES)
    if unknown:
        raise TenancyError(
            f"unknown quota {sorted(unknown)[0]!r}", code="TENANT_QUOTA_INVALID", field=sorted(unknown)[0]
        )
    merged = {name: quotas.get(name, state.quotas.get(name)) for name in QUOTA_NAMES}
    for name, value in merged.items():
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise TenancyError(
                f"quota {name} must be a whole number >= 0 or null", code="TENANT_QUOTA_INVALID", field=name
            )
    if merged == {name: state.quotas.get(name) for name in QUOTA_NAMES}:
        return []
    return [QuotasSet(tenant_id=tenant_id, **merged)]


def check_quota(state: TenantState, resource: str, in_use: int) -> None:
    """Raise TENANT_QUOTA_EXCEEDED when one more ``resource`` would pass the tenant's limit."""
    limit = state.quotas.get(resource)
    if limit is not None and in_use + 1 > limit:
        raise TenancyError(
            f"the tenant's quota of {limit} {resource.replace('_', ' ')} is used up",
            code="TENANT_QUOTA_EXCEEDED",
            resource=resource,
            limit=limit,
            in_use=in_use,
        )


def evolve(state: TenantState, event: Any) -> TenantState:
    data = event.data
    if isinstance(data, TenantCreated):
        return TenantState(exists=True, name=data.name, slug=data.slug)
    if isinstance(data, TenantRenamed):
        return replace(state, name=data.name)
    if isinstance(data, WorkspaceCreated):
        return replace(state, workspaces={**state.workspaces, data.slug: data.workspace_id})
    if isinstance(data, TenantDisabled):
        return replace(state, disabled=True)
    if isinstance(data, TenantEnabled):
        return replace(state, disabled=False)
    if isinstance(data, QuotasSet):
        return replace(state, quotas={n: getattr(data, n) for n in QUOTA_NAMES})
    return state


def to_snapshot(state: TenantState) -> dict[str, Any]:
    return {
        "exists": state.exists,
        "name": state.name,
        "slug": state.slug,
        "workspaces": state.workspaces,
        "disabled": state.disabled,
        "quotas": state.quotas,
    }


def from_snapshot(data: dict[str, Any]) -> TenantState:
    return TenantState(**data)
