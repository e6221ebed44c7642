"""The tenant a request or task works in. Unbound means "no tenant": scoped queries then return nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class TenantContext:
    tenant_id: str
    workspace_id: str | None = None


_current: ContextVar[TenantContext | None] = ContextVar("controlplane_tenant", default=None)


def current() -> TenantContext | None:
    return _current.get()


@contextmanager
def bound(tenant_id: str, workspace_id: str | None = None) -> Iterator[TenantContext]:
    """Bind a tenant (and optionally a workspace) for the duration of a request, task or command."""
    ctx = TenantContext(tenant_id=tenant_id, workspace_id=workspace_id)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
