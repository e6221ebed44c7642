"""Fixtures of the secrets tests: fixed master keys (never the configured ones), a tenant and workspaces."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User

from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.iam import actions as iam
from controlplane.secrets import keys
from controlplane.secrets.keys import LocalKeyProvider
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant

K1 = os.urandom(32)
K2 = os.urandom(32)


@pytest.fixture(autouse=True)
def master_keys():
    """Every test starts with k1 only; ``keys.using_provider`` swaps keys inside a test."""
    with keys.using_provider(LocalKeyProvider([("k1", K1)])) as provider:
        yield provider


@dataclass(frozen=True)
class Place:
    tenant_id: str
    workspace_id: str
    meta: Metadata  # the control plane acting in the workspace: for tests not about who acts
    user_meta: Metadata  # alice, an admin of the tenant, with her credential, as a request carries it


def _place(slug: str) -> Place:
    boot = Metadata.for_system(None, reason="tests")
    tenant_id = tenancy.do_create_tenant(metadata=boot, name=slug.title(), slug=slug)
    workspace_id = tenancy.do_create_workspace(metadata=boot, tenant_id=tenant_id, name="ETL", slug="etl")
    alice = User.objects.create_user(f"alice@{slug}")
    iam.do_grant_role(
        user=alice,
        tenant=Tenant.objects.get(id=tenant_id),
        role="admin",
        metadata=Metadata.for_system(None, reason="tests"),
    )
    user_meta = Metadata(
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        actor=Actor(kind="user", id=alice.get_username()),
        request_id="req-1",
        correlation_id="corr-1",
        client_address="127.0.0.1",
        principal=alice,
    )
    meta = Metadata.for_system(tenant_id, reason="tests", workspace_id=workspace_id)
    return Place(tenant_id=tenant_id, workspace_id=workspace_id, meta=meta, user_meta=user_meta)


@pytest.fixture
def acme(db) -> Place:
    return _place("acme")


@pytest.fixture
def globex(db) -> Place:
    return _place("globex")
