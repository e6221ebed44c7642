"""Registering clusters against a real emulator process: the connection test, credentials, quotas, the log."""

from __future__ import annotations

import socket

import pytest

from controlplane.clusters import actions
from controlplane.clusters.models import Cluster
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.eventlog.store import read_stream
from controlplane.seatunnel.emulator.process import emulator_process
from controlplane.secrets import actions as secrets
from controlplane.tenancy import actions as tenancy
from tests.api.world import emulator_url

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def guarded_emulator():
    with emulator_process("--basic-auth", "zeta:open-sesame") as running:
        yield running.url


@pytest.fixture
def place():
    boot = Metadata.for_system(None, reason="tests")
    tenant_id = tenancy.do_create_tenant(metadata=boot, name="Acme", slug="acme")
    workspace_id = tenancy.do_create_workspace(metadata=boot, tenant_id=tenant_id, name="ETL", slug="etl")
    meta = Metadata.for_system(tenant_id, reason="tests", workspace_id=workspace_id)
    return tenant_id, workspace_id, meta


def register(place, **overrides):
    tenant_id, workspace_id, meta = place
    fields = {"name": "zeta", "form": "bare_metal", "mode": "hybrid", "endpoints": [emulator_url()]}
    return actions.do_register_cluster(
        metadata=meta, tenant_id=tenant_id, workspace_id=workspace_id, **{**fields, **overrides}
    )


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_register_update_remove_through_the_log(place):
    cluster_id = register(place, labels={"env": "dev"})
    cluster = Cluster.unscoped.get(id=cluster_id)
    assert cluster.engine_version.startswith("2.3.") and cluster.endpoints == [emulator_url()]
    _, _, meta = place
    actions.do_update_cluster(metadata=meta, cluster=cluster, changes={"name": "prod", "labels": {"env": "prod"}})
    # a dead endpoint first: the connection test fails over to the live one
    actions.do_update_cluster(
        metadata=meta,
        cluster=Cluster.unscoped.get(id=cluster_id),
        changes={"endpoints": (endpoints := [closed_port(), emulator_url()])},
    )
    actions.do_remove_cluster(metadata=meta, cluster=Cluster.unscoped.get(id=cluster_id))
    events = read_stream(f"cluster-{cluster_id}")
    assert [e.event_type for e in events] == [
        "clusters.cluster_registered",
        "clusters.cluster_updated",
        "clusters.cluster_updated",
        "clusters.cluster_removed",
    ]
    assert events[1].payload["changes"] == {"name": "prod", "labels": {"env": "prod"}}
    assert events[2].payload["changes"] == {"endpoints": endpoints}  # same engine version: not repeated
    cluster = Cluster.unscoped.get(id=cluster_id)
    assert (cluster.name, cluster.removed, cluster.version) == ("prod", True, 4)


def test_an_unreachable_cluster_is_refused_and_nothing_is_written(place):
    before = Event.objects.count()
    with pytest.raises(Exception) as info:
        register(place, endpoints=[closed_port()])
    assert info.value.code == "ZETA_UNREACHABLE"
    assert Event.objects.count() == before and not Cluster.unscoped.exists()


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"endpoints": ["ftp://x"]}, "CLUSTER_ENDPOINT_INVALID", "endpoints"),
        ({"endpoints": []}, "CLUSTER_ENDPOINT_INVALID", "endpoints"),
        ({"name": " "}, "CLUSTER_NAME_INVALID", "name"),
        ({"form": "mainframe"}, "CLUSTER_FORM_INVALID", "form"),
        ({"labels": {"Bad Key": "x"}}, "CLUSTER_LABELS_INVALID", "labels"),
        ({"auth_secret": "missing"}, "CLUSTER_AUTH_INVALID", "auth_secret"),
    ],
)
def test_bad_registrations_are_coded_by_field(place, overrides, code, field):
    before = Event.objects.count()
    with pytest.raises(Exception) as info:
        register(place, **overrides)
    assert (info.value.code, info.value.details.get("field")) == (code, field)
    assert Event.objects.count() == before


def test_credentials_come_from_a_secret_at_connection_time(place, guarded_emulator):
    tenant_id, workspace_id, meta = place
    for name, value in (("zeta-auth", "zeta:open-sesame"), ("wrong-auth", "zeta:guess")):
        secrets.do_create_secret(metadata=meta, tenant_id=tenant_id, workspace_id=workspace_id, name=name, value=value)
    with pytest.raises(Exception) as info:
        register(place, endpoints=[guarded_emulator])
    assert info.value.code == "ZETA_AUTH_FAILED"
    with pytest.raises(Exception) as info:
        register(place, endpoints=[guarded_emulator], auth_secret="wrong-auth")
    assert info.value.code == "ZETA_AUTH_FAILED"
    cluster_id = register(place, endpoints=[guarded_emulator], auth_secret="zeta-auth")
    stored = read_stream(f"cluster-{cluster_id}")[0].payload
    assert stored["auth_secret"] == "zeta-auth" and "open-sesame" not in str(stored)


def test_the_tenants_cluster_quota_is_enforced(place):
    tenant_id, _, meta = place
    tenancy.do_set_quotas(metadata=meta, tenant_id=tenant_id, quotas={"clusters": 1})
    register(place)
    with pytest.raises(Exception) as info:
        register(place, name="second")
    assert info.value.code == "TENANT_QUOTA_EXCEEDED"
    assert Cluster.unscoped.filter(tenant_id=tenant_id).count() == 1
