"""Enrolment hardening: registration refuses action types the control plane does not know (and spends no token)."""

from __future__ import annotations

import json

import pytest

from controlplane.agents.models import Agent, BootstrapToken
from tests.agents.helpers import issue_token, make_place, register_body

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
