"""Every writer of clusters authorizes its actor itself (ADR 0018): the point its API view requires, fail closed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.utils import timezone

from controlplane.clusters import actions
from controlplane.clusters.health import ClusterHealth
from controlplane.clusters.models import Cluster
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.models import Event
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant
from tests.api.world import emulator_url
from tests.authorizing import as_user, object_viewer, refused, user_holding, user_lacking, without_credential

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Place:
    tenant: Tenant
    workspace_id: str
    cluster_id: str
    other_tenant_id: str
    other_workspace_id: str

    def cluster(self) -> Cluster:
        return Cluster.unscoped.get(id=self.cluster_id)


@pytest.fixture
def place() -> Place:
    boot = Metadata.for_system(None, reason="tests")
    tenant_id = tenancy.do_create_tenant(metadata=boot, name="Acme", slug="acme")
    workspace_id = tenancy.do_create_workspace(metadata=boot, tenant_id=tenant_id, name="ETL", slug="etl")
    other_tenant_id = tenancy.do_create_tenant(metadata=boot, name="Beta", slug="beta")
    other_workspace_id = tenancy.do_create_workspace(metadata=boot, tenant_id=other_tenant_id, name="B", slug="b")
    cluster_id = actions.do_register_cluster(
        metadata=Metadata.for_system(tenant_id, reason="tests", workspace_id=workspace_id),
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        **registration("zeta"),
    )
    actions.do_record_installed_nodes(  # a node an install registered (for do_remove_node)
        metadata=Metadata.for_system(tenant_id, reason="tests", workspace_id=workspace_id),
        cluster=Cluster.unscoped.get(id=cluster_id),
        nodes=[INSTALLED_NODE],
    )
    return Place(Tenant.objects.get(id=tenant_id), workspace_id, cluster_id, other_tenant_id, other_workspace_id)


INSTALLED_NODE = {"address": "10.0.0.9:5801", "role": "hybrid", "facts": {"hostname": "n9", "engine_version": "2.3.12"}}


def registration(name: str) -> dict[str, object]:
    """A cluster on the test process's emulator (started on first use)."""
    return {"name": name, "form": "bare_metal", "mode": "hybrid", "endpoints": [emulator_url()]}


def unreachable(cluster: Cluster) -> ClusterHealth:
    """What a poll that could not reach the (reachable until now) cluster hands the writer."""
    return ClusterHealth(
        cluster_id=cluster.id,
        reachable=False,
        error_code="ZETA_UNREACHABLE",
        error_message="connection refused",
        engine_version="",
        members=(),
        members_identified=False,
        total_slots=None,
        free_slots=None,
        running_jobs=None,
        pending_jobs=None,
        heap_used=None,
        heap_max=None,
        checked_at=timezone.now(),
    )


Write = Callable[[Metadata, Place], object]
# writer -> (the point its API view requires, a call of it, the event it appends when allowed)
WRITERS: dict[str, tuple[str, Write, str]] = {
    "do_register_cluster": (
        "cluster.create",
        lambda meta, p: actions.do_register_cluster(
            metadata=meta,
            tenant_id=p.tenant.id,
            workspace_id=p.workspace_id,
            **registration("second"),
        ),
        "clusters.cluster_registered",
    ),
    "do_declare_cluster": (
        "cluster.create",
        lambda meta, p: actions.do_declare_cluster(
            metadata=meta,
            tenant_id=p.tenant.id,
            workspace_id=p.workspace_id,
            name="to-install",
            form="bare_metal",
            mode="separated",
        ),
        "clusters.cluster_registered",
    ),
    "do_record_installed_nodes": (
        "cluster.update",
        lambda meta, p: actions.do_record_installed_nodes(
            metadata=meta, cluster=p.cluster(), nodes=[{**INSTALLED_NODE, "facts": {"hostname": "n9", "cpu_count": 8}}]
        ),
        "clusters.node_installed",
    ),
    "do_remove_node": (
        "cluster.update",
        lambda meta, p: actions.do_remove_node(metadata=meta, cluster=p.cluster(), address=INSTALLED_NODE["address"]),
        "clusters.node_removed",
    ),
    "do_update_cluster": (
        "cluster.update",
        lambda meta, p: actions.do_update_cluster(metadata=meta, cluster=p.cluster(), changes={"name": "renamed"}),
        "clusters.cluster_updated",
    ),
    "do_remove_cluster": (
        "cluster.delete",
        lambda meta, p: actions.do_remove_cluster(metadata=meta, cluster=p.cluster()),
        "clusters.cluster_removed",
    ),
    "do_record_cluster_health": (
        "cluster.read",
        lambda meta, p: actions.do_record_cluster_health(
            metadata=meta, cluster=p.cluster(), observed=unreachable(p.cluster())
        ),
        "clusters.cluster_unreachable",
    ),
}


def test_every_writer_of_clusters_is_covered() -> None:
    assert set(WRITERS) == {name for name in vars(actions) if name.startswith("do_")}


@pytest.mark.parametrize("writer", WRITERS)
def test_a_user_without_the_point_is_refused_and_nothing_is_appended(place: Place, writer: str) -> None:
    point, write, _ = WRITERS[writer]
    if point == "cluster.read":  # every role reads clusters: this user reads only another cluster of the workspace
        other = actions.do_register_cluster(
            metadata=Metadata.for_system(place.tenant.id, reason="tests", workspace_id=place.workspace_id),
            tenant_id=place.tenant.id,
            workspace_id=place.workspace_id,
            **registration("other"),
        )
        user = object_viewer(place.tenant, "cluster", other)
    else:
        user = user_lacking(point, place.tenant)
    meta = as_user(user, place.tenant.id, place.workspace_id)
    error = refused(lambda: write(meta, place), "PERMISSION_DENIED")
    assert error.details["permission"] == point


@pytest.mark.parametrize("writer", WRITERS)
def test_a_user_actor_without_a_credential_is_refused(place: Place, writer: str) -> None:
    point, write, _ = WRITERS[writer]
    meta = as_user(user_holding(point, place.tenant), place.tenant.id, place.workspace_id)
    refused(lambda: write(without_credential(meta), place), "PERMISSION_DENIED")


@pytest.mark.parametrize("writer", WRITERS)
def test_metadata_bound_to_another_tenant_is_not_found(place: Place, writer: str) -> None:
    point, write, _ = WRITERS[writer]
    user = user_holding(point, place.tenant)  # allowed in the cluster's tenant, but acting in another one
    refused(lambda: write(as_user(user, place.other_tenant_id, place.other_workspace_id), place), "NOT_FOUND")
    system = Metadata.for_system(place.other_tenant_id, reason="tests", workspace_id=place.other_workspace_id)
    refused(lambda: write(system, place), "NOT_FOUND")


@pytest.mark.parametrize("writer", WRITERS)
def test_a_user_holding_the_point_writes(place: Place, writer: str) -> None:
    point, write, event_type = WRITERS[writer]
    user = user_holding(point, place.tenant)
    before = Event.objects.order_by("-position").values_list("position", flat=True).first()
    write(as_user(user, place.tenant.id, place.workspace_id), place)
    (written,) = Event.objects.filter(position__gt=before)
    assert (written.event_type, written.tenant_id, written.workspace_id) == (
        event_type,
        place.tenant.id,
        place.workspace_id,
    )
    assert Actor(written.actor_kind, written.actor_id) == Actor("user", user.get_username())
