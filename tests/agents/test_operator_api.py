"""The operator side over HTTP: tokens shown once, agents with liveness and facts, actions requested, listed,
read with their output, cancelled; what is audited."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from controlplane.agents import actions
from controlplane.agents.models import BootstrapToken
from controlplane.audit.models import AuditRecord
from controlplane.eventlog.metadata import Metadata
from controlplane.iam import actions as iam
from controlplane.tenancy.models import Tenant
from tests.agents.helpers import as_agent, authenticated, claim, make_place

pytestmark = pytest.mark.django_db

W = "/api/v1/tenants/acme/workspaces/etl"


@pytest.fixture
def place():
    return make_place()


def as_role(role: str, place) -> Client:
    user = User.objects.create_user(f"{role}-user")
    iam.do_grant_role(
        user=user,
        tenant=Tenant.objects.get(id=place.tenant_id),
        role=role,
        metadata=Metadata.for_system(None, reason="tests"),
    )
    token = RefreshToken.for_user(user).access_token
    return Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_an_operator_enrols_a_node_runs_an_action_and_reads_its_output(place):
    admin, operator, viewer = (as_role(r, place) for r in ("admin", "operator", "viewer"))
    created = admin.post(f"{W}/agent-bootstrap-tokens/", {"description": "rack 4"}, content_type="application/json")
    assert created.status_code == 201, created.content
    token = created.json()["token"]
    assert token.startswith("stbt_") and created.json()["status"] == "usable"
    listed = admin.get(f"{W}/agent-bootstrap-tokens/").json()["results"]
    assert [t["id"] for t in listed] == [created.json()["id"]] and "token" not in listed[0]
    assert viewer.get(f"{W}/agent-bootstrap-tokens/").status_code == 403

    agent = (
        Client()
        .post(
            "/agent/v1/register",
            json.dumps(
                {
                    "bootstrap_token": token,
                    "hostname": "n1",
                    "member_address": "10.0.0.9:5801",
                    "allowlist": ["log.tail", "service.status"],
                    "facts": {"cpu_count": 2},
                }
            ),
            content_type="application/json",
        )
        .json()
    )
    auth = {"HTTP_AUTHORIZATION": f"Agent {agent['credential']}"}
    Client().post(
        "/agent/v1/heartbeat",
        json.dumps({"sent_at": "t", "facts": {"cpu_count": 8}}),
        content_type="application/json",
        **auth,
    )
    detail = viewer.get(f"{W}/agents/{agent['agent_id']}/").json()
    assert detail["status"] == "online" and detail["facts"] == {"cpu_count": 8}
    assert detail["registration_facts"] == {"cpu_count": 2} and detail["liveness"]["heartbeats"] == 1
    assert [a["hostname"] for a in viewer.get(f"{W}/agents/").json()["results"]] == ["n1"]
    assert BootstrapToken.unscoped.get().used

    body = {"type": "log.tail", "params": {"file": "engine.log", "lines": 10}}
    assert (
        viewer.post(f"{W}/agents/{agent['agent_id']}/actions/", body, content_type="application/json").status_code
        == 403
    )
    asked = operator.post(f"{W}/agents/{agent['agent_id']}/actions/", body, content_type="application/json")
    assert asked.status_code == 201, asked.content
    action_id = asked.json()["id"]
    assert asked.json()["state"] == "PENDING" and asked.json()["requested_by"] == "user:operator-user"
    refused = operator.post(
        f"{W}/agents/{agent['agent_id']}/actions/", {"type": "service.restart"}, content_type="application/json"
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "AGENT_ACTION_NOT_ALLOWED")

    me = authenticated(agent["credential"])
    claim(me)
    actions.do_record_progress(
        **as_agent(me), action_id=action_id, seq=1, percent=50, message="reading", output="a\nb\n"
    )
    actions.do_record_result(
        **as_agent(me),
        action_id=action_id,
        status="succeeded",
        exit_code=0,
        data={"lines": 2},
        output_tail="a\nb\n",
        error_code="",
        error_message="",
        started_at="",
        finished_at="",
    )
    read = viewer.get(f"{W}/agent-actions/{action_id}/").json()
    assert read["state"] == "SUCCEEDED" and read["result"] == {"lines": 2}
    assert read["output"][0]["text"] == "a\nb\n" and read["output_tail"] == "a\nb\n"
    assert [a["id"] for a in viewer.get(f"{W}/agent-actions/?agent={agent['agent_id']}").json()["results"]] == [
        action_id
    ]
    assert viewer.get(f"{W}/agents/{agent['agent_id']}/actions/").json()["results"][0]["id"] == action_id

    revoked = admin.post(f"{W}/agents/{agent['agent_id']}/revoke/", {"reason": "gone"}, content_type="application/json")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    after = Client().post("/agent/v1/heartbeat", "{}", content_type="application/json", **auth)
    assert after.json()["code"] == "AGENT_REVOKED"
    audited = set(AuditRecord.objects.values_list("action", "result"))
    assert {
        ("agent_bootstrap_token.create", "ok"),
        ("agent.register", "ok"),
        ("agent.request_action", "ok"),
        ("agent.request_action", "denied"),
        ("agent.request_action", "failed"),
        ("agent.revoke", "ok"),
    } <= audited


def test_a_queued_action_is_cancelled_over_the_api(place):
    from tests.agents.helpers import register

    operator = as_role("operator", place)
    reg = register(place)
    asked = operator.post(
        f"{W}/agents/{reg.agent_id}/actions/",
        {"type": "service.status", "key": "mine"},
        content_type="application/json",
    ).json()
    again = operator.post(
        f"{W}/agents/{reg.agent_id}/actions/",
        {"type": "service.status", "key": "mine"},
        content_type="application/json",
    ).json()
    assert again["id"] == asked["id"]
    cancelled = operator.post(f"{W}/agent-actions/{asked['id']}/cancel/", content_type="application/json")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "CANCELLED"


def test_a_node_and_its_agent_point_at_each_other(place):
    from controlplane.clusters import actions as clusters
    from controlplane.clusters import health
    from controlplane.clusters.models import Cluster, Node
    from tests.agents.helpers import issue_token, register_body
    from tests.api.world import emulator_url

    viewer = as_role("viewer", place)
    cluster_id = clusters.do_register_cluster(
        metadata=place.meta,
        tenant_id=place.tenant_id,
        workspace_id=place.workspace_id,
        name="zeta",
        form="bare_metal",
        mode="hybrid",
        endpoints=[emulator_url()],
    )
    health.poll_one(Cluster.unscoped.get(id=cluster_id), metadata=place.meta)
    address = Node.unscoped.filter(cluster_id=cluster_id).values_list("address", flat=True).first()
    assert address
    token = issue_token(place, cluster_id=cluster_id)
    reg = actions.do_register_agent(**register_body(token, member_address=address))
    [node] = viewer.get(f"{W}/clusters/{cluster_id}/nodes/").json()["results"]
    assert node["agent"] == {"id": reg.agent_id, "hostname": "node-1", "status": "online"}
    detail = viewer.get(f"{W}/agents/{reg.agent_id}/").json()
    assert detail["cluster_id"] == cluster_id and detail["node"]["address"] == address
    assert detail["node"]["status"] == "online"
