"""Shared set-up of the agents tests: a tenant with a workspace, tokens, registered agents."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controlplane.agents import actions
from controlplane.agents.domain.catalog import ACTION_TYPES
from controlplane.agents.signing import canonical
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.tenancy import actions as tenancy

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
    meta = Metadata(tenant_id=tenant_id, workspace_id=workspace_id, actor=Actor("user", "alice"), request_id="r1")
    return Place(tenant_id, workspace_id, meta)


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


def verify(envelope: dict, public_key_b64: str) -> None:
    """Raises cryptography's InvalidSignature unless the envelope's signature is good."""
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    key.verify(base64.b64decode(envelope["signature"]), canonical(envelope["action"]))
