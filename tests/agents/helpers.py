"""Shared set-up of the agents tests: a tenant with a workspace, tokens, registered agents."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controlplane.agents import actions, selectors
from controlplane.agents.domain.catalog import ACTION_TYPES
from controlplane.agents.signing import canonical
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.iam import actions as iam
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant

ALL_TYPES = sorted(ACTION_TYPES)


@dataclass
class Place:
    tenant_id: str
    workspace_id: str
    meta: Metadata


def make_place(slug: str = "acme") -> Place:
    boot = Metadata.for_system(None, reason="test")
    tenant_id = tenancy.do_create_tenant(metadata=boot, name=slug.title(), slug=slug)
    workspace_id = tenancy.do_create_workspace(metadata=boot, tenant_id=tenant_id, name="ETL", slug="etl")
    # Not about who acts: the control plane itself (tests/agents/test_writers_authorize.py is)
    meta = Metadata.for_system(tenant_id, reason="tests", workspace_id=workspace_id)
    return Place(tenant_id, workspace_id, meta)


def person(place: Place, username: str, role: str | None) -> Metadata:
    """Metadata of a real user holding ``role`` on the place's tenant (None: no membership), the user being the
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
        actor=Actor("user", username),
        request_id="r1",
        principal=user,
    )


def issue_token(place: Place, **kwargs) -> str:
    _, text = actions.do_issue_bootstrap_token(
        metadata=place.meta, tenant_id=place.tenant_id, workspace_id=place.workspace_id, **kwargs
    )
    return text


def register_body(token: str, **overrides) -> dict:
    body = {
        "bootstrap_token": token,
        "hostname": "node-1",
        "agent_version": "0.1.0",
        "member_address": "10.0.0.1:5801",
        "allowlist": ALL_TYPES,
        "facts": {"cpu_count": 4},
    }
    return {**body, **overrides}


def register(place: Place, **overrides) -> actions.Registration:
    body = register_body(issue_token(place), **overrides)
    return actions.do_register_agent(**body)


def authenticated(credential: str) -> selectors.AuthenticatedAgent:
    return selectors.authenticated_agent_for_system(credential)


def as_agent(agent: selectors.AuthenticatedAgent) -> dict:
    """The arguments an agent's report carries: its own metadata and id, as the agent API passes them."""
    return {"metadata": agent.metadata(), "agent_id": agent.id}


def claim(agent: selectors.AuthenticatedAgent, **kwargs) -> list[dict]:
    return actions.do_claim_actions(metadata=agent.metadata(), agent=agent, **kwargs)


def verify(envelope: dict, public_key_b64: str) -> None:
    """Raises cryptography's InvalidSignature unless the envelope's signature is good."""
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    key.verify(base64.b64decode(envelope["signature"]), canonical(envelope["action"]))
