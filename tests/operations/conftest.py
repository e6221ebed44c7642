"""Fixtures of the operations tests: a tenant with a cluster (the Zeta emulator of the test process)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from controlplane.clusters import actions as clusters
from controlplane.clusters.models import Cluster
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.tenancy import actions as tenancy
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
    meta = Metadata(tenant_id=tenant_id, workspace_id=workspace_id, actor=Actor(kind="user", id="ops"))
    return Place(tenant_id, workspace_id, Cluster.unscoped.get(id=cluster_id), meta)


@pytest.fixture
def place(db) -> Place:  # type: ignore[no-untyped-def]
    return make_place()


@pytest.fixture(autouse=True)
def _fast_runner(settings):  # type: ignore[no-untyped-def]
    settings.OPERATION_RETRY_BASE_SECONDS = 0
    settings.OPERATION_POLL_SECONDS = 0.05
