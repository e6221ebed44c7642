"""Enrolment and the agent API's refusals: registration refuses action types the control plane does not know
(and spends no token); a disabled tenant's agents are refused until it is enabled again."""

from __future__ import annotations

import json

import pytest

from controlplane.agents import dispatch, longpoll
from controlplane.agents.models import Action, Agent, BootstrapToken
from controlplane.errors import DomainError
from controlplane.tenancy import actions as tenancy
from tests.agents.helpers import issue_token, make_place, register, register_body

pytestmark = pytest.mark.django_db


def post(client, path: str, body: dict, **headers):
    return client.post(f"/agent/v1/{path}", data=json.dumps(body), content_type="application/json", **headers)


def test_registration_with_an_unknown_action_type_is_a_coded_400_and_spends_nothing(client):
    place = make_place()
    token = issue_token(place)
    refused = post(client, "register", register_body(token, allowlist=["service.status", "made.up"]))
    assert refused.status_code == 400, refused.content
    assert refused.json()["code"] == "AGENT_ACTION_TYPE_UNKNOWN"
    assert refused.json()["field"] == "allowlist"
    assert "made.up" in refused.json()["message"]
    assert Agent.unscoped.count() == 0 and not BootstrapToken.unscoped.get().used
    # the same token still registers an agent that announces only known types
    assert post(client, "register", register_body(token, allowlist=["service.status"])).status_code == 201


def test_a_disabled_tenants_agents_are_refused_and_come_back_when_it_is_enabled(client):
    place = make_place()
    reg = register(place)
    spare_token = issue_token(place)
    action_id = dispatch.request_action(
        metadata=place.meta, agent_id=reg.agent_id, action_type="service.status", params={}, key="k1"
    )
    longpoll.authenticate_and_claim(reg.credential)  # delivered before the tenant is disabled
    tenancy.do_disable_tenant(metadata=place.meta, tenant_id=place.tenant_id, reason="unpaid")
    auth = {"HTTP_AUTHORIZATION": f"Agent {reg.credential}"}

    beat = post(client, "heartbeat", {"sent_at": "", "facts": {}}, **auth)
    result = post(client, f"actions/{action_id}/result", {"status": "succeeded", "data": {}}, **auth)
    enrol = post(client, "register", register_body(spare_token))
    for answer in (beat, result, enrol):
        assert (answer.status_code, answer.json()["code"]) == (403, "TENANT_DISABLED"), answer.content
    with pytest.raises(DomainError) as polled:
        longpoll.authenticate_and_claim(reg.credential)
    assert polled.value.code == "TENANT_DISABLED"
    assert Action.unscoped.get(id=action_id).state == "DELIVERED"  # the result was not taken
    assert Agent.unscoped.count() == 1 and BootstrapToken.unscoped.filter(used=False).count() == 1

    tenancy.do_enable_tenant(metadata=place.meta, tenant_id=place.tenant_id)
    assert post(client, "heartbeat", {"sent_at": "", "facts": {}}, **auth).status_code == 200
    assert post(client, f"actions/{action_id}/result", {"status": "succeeded", "data": {}}, **auth).status_code == 200
