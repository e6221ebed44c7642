"""File-based service discovery of the engines' /metrics, against clusters and agents registered through the writers
(the world: two tenants, each with a cluster on the test process's Zeta emulator and an agent on its node)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from controlplane.clusters import actions as clusters
from controlplane.clusters.models import Cluster
from controlplane.eventlog.metadata import Metadata
from controlplane.metrics import targets
from tests.api.world import World, emulator_url, world_for_module
from tests.metrics.scrape import ID_LIKE

pytestmark = pytest.mark.django_db
W = "/api/v1/tenants/acme/workspaces/etl"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")


def _rest_address() -> str:
    parts = urlsplit(emulator_url())
    return f"{parts.hostname}:{parts.port}"


def _by_tenant(groups: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for group in groups:
        found.setdefault(group["labels"]["tenant"], []).append(group)
    return found


def test_the_command_writes_file_sd_json_with_tenant_cluster_and_role(world: World, tmp_path: Path) -> None:
    said = io.StringIO()
    call_command("prometheus_targets", out=tmp_path / "sd", stdout=said)
    assert said.getvalue().startswith("wrote 2 target group(s) to ")
    written = tmp_path / "sd" / targets.FILE_NAME
    assert written.stat().st_mode & 0o777 == 0o644  # Prometheus may run as another user; the process umask is 077
    assert [p.name for p in written.parent.iterdir()] == [targets.FILE_NAME]  # no temporary file left
    groups = json.loads(written.read_text())
    by_tenant = _by_tenant(groups)
    assert sorted(by_tenant) == ["acme", "beta"]
    for tenant, workspace in (("acme", "etl"), ("beta", "beta-ws")):
        # the agent's node (member 127.0.0.1:5801) on the cluster's REST port is the emulator's own address: one
        # target, the node's; the registered endpoint adds no second one
        [group] = by_tenant[tenant]
        assert group["targets"] == [_rest_address()]
        assert group["labels"] == {
            "__scheme__": "http",
            "__metrics_path__": "/metrics",
            "tenant": tenant,
            "workspace": workspace,
            "cluster": "zeta",
            "role": "node",  # no health poll yet: the role is not known
        }
    for group in groups:
        for name, label_value in group["labels"].items():
            assert not ID_LIKE.search(label_value), (name, label_value)


def test_a_poll_names_the_nodes_role_and_a_removed_cluster_leaves(client: Client, world: World) -> None:
    polled = client.post(f"{W}/clusters/{world.objects['acme_cluster']}/poll/", **world.auth("operator"))
    assert polled.status_code == 200, polled.content
    acme = _by_tenant(targets.file_sd())["acme"]
    assert [g["labels"]["role"] for g in acme] == ["hybrid"]  # the emulator's one member, 127.0.0.1:5801

    clusters.do_remove_cluster(
        metadata=Metadata.for_system(world.acme.id, reason="tests", workspace_id=world.acme_ws.id),
        cluster=Cluster.unscoped.get(id=world.objects["acme_cluster"]),
    )
    assert sorted(_by_tenant(targets.file_sd())) == ["beta"]


def test_a_context_path_and_a_second_endpoint(world: World) -> None:
    cluster_id = clusters.do_register_cluster(
        metadata=Metadata.for_system(None, reason="tests"),
        tenant_id=world.acme.id,
        workspace_id=world.acme_ws.id,
        name="zeta-two",
        form="bare_metal",
        mode="separated",
        endpoints=[emulator_url(), "http://localhost:1"],  # the second is never asked: the first answers the test
    )
    assert cluster_id
    groups = [g for g in targets.file_sd() if g["labels"]["cluster"] == "zeta-two"]
    assert [(g["targets"], g["labels"]["role"]) for g in groups] == [
        ([_rest_address()], "endpoint"),
        (["localhost:1"], "endpoint"),
    ]


def test_the_targets_endpoint_needs_the_token_configured_and_given(
    client: Client,
    world: World,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.METRICS_TOKEN = None
    assert client.get("/metrics/targets").status_code == 403
    settings.METRICS_TOKEN = "sd-token-abcdefghij"
    assert client.get("/metrics/targets").status_code == 401
    assert client.get("/metrics/targets", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    answered = client.get("/metrics/targets", HTTP_AUTHORIZATION="Bearer sd-token-abcdefghij")
    assert answered.status_code == 200
    assert answered.json() == targets.file_sd() and len(answered.json()) == 2
