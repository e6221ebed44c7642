"""Fixtures of the operations tests: a tenant with a cluster (the Zeta emulator of the test process)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from controlplane.clusters import actions as clusters
from controlplane.clusters.models import Cluster
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.iam import actions as iam
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant
from tests.api.world import emulator_url
from tests.operations import kinds  # noqa: F401  (registers the testing step kinds and type)


@dataclass
class Place:
    tenant_id: str
    workspace_id: str
    cluster: Cluster
    meta: Metadata


def make_place() -> Place:
    system = Metadata.for_system(None, reason="tests")
    tenant_id = tenancy.do_create_tenant(metadata=system, name="Acme", slug="acme")
    workspace_id = tenancy.do_create_workspace(metadata=system, tenant_id=tenant_id, name="ETL", slug="etl")
    cluster_id = clusters.do_register_cluster(
        metadata=system,
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        name="zeta",
        form="bare_metal",
        mode="hybrid",
        endpoints=[emulator_url()],
    )
    meta = Metadata.for_system(tenant_id, reason="tests", workspace_id=workspace_id)
    return Place(tenant_id, workspace_id, Cluster.unscoped.get(id=cluster_id), meta)


def person(place: Place, username: str, role: str | None = "operator") -> Metadata:
    """Metadata of a real user holding ``role`` on the place's tenant (None: no membership), with the user as the
    write's credential, as the API base builds it."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=username, password="x-" * 8)
    if role is not None:
        iam.do_grant_role(
            user=user,
            tenant=Tenant.objects.get(id=place.tenant_id),
            role=role,
            metadata=Metadata.for_system(None, reason="tests"),
        )
    return Metadata(
        tenant_id=place.tenant_id,
        workspace_id=place.workspace_id,
        actor=Actor(kind="user", id=username),
        principal=user,
    )


@pytest.fixture
def place(db) -> Place:  # type: ignore[no-untyped-def]
    return make_place()


@pytest.fixture(autouse=True)
def _fast_runner(settings):  # type: ignore[no-untyped-def]
    settings.OPERATION_RETRY_BASE_SECONDS = 0
    settings.OPERATION_POLL_SECONDS = 0.05
