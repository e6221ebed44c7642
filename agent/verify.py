"""The checks an envelope passes before anything runs, in the contract's order (docs/AGENT_PROTOCOL.md):
signature (with the pinned key), agent id, expiry, nonce replay, local allowlist, parameter schema.

`verify` returns a `Verdict`: run it (with the checked params), re-send a stored outcome (the same id
again), or refuse it with a code.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agent import catalog
from agent.state import SKEW_SECONDS, StateDir, parse_time

SIGNATURE_INVALID = "AGENT_SIGNATURE_INVALID"
EXPIRED = "AGENT_ACTION_EXPIRED"
REPLAYED = "AGENT_ACTION_REPLAYED"
NOT_ALLOWED = "AGENT_ACTION_NOT_ALLOWED"
PARAMS_INVALID = "AGENT_PARAMS_INVALID"


def canonical(action: dict[str, Any]) -> bytes:
    return json.dumps(action, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Verdict:
    kind: str  # "run" | "duplicate" | "refuse"
    action: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    code: str = ""
    message: str = ""
    previous: dict[str, Any] | None = None  # for "duplicate": the seen record


@dataclass(frozen=True)
class Policy:
    agent_id: str
    key_id: str
    public_key: Ed25519PublicKey
    allowlist: frozenset[str]
    limits: dict[str, dict[str, int]]
    local_hosts: frozenset[str] = frozenset()
    skew_seconds: int = SKEW_SECONDS

    @classmethod
    def pinned(
        cls,
        *,
        agent_id: str,
        key_id: str,
        public_key_b64: str,
        allowlist: frozenset[str],
        limits: dict[str, dict[str, int]],
        local_hosts: frozenset[str] = frozenset(),
        skew_seconds: int = SKEW_SECONDS,
    ) -> Policy:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        return cls(agent_id, key_id, key, allowlist, limits, local_hosts, skew_seconds)


def refuse(action: dict[str, Any], code: str, message: str) -> Verdict:
    return Verdict("refuse", action=action, code=code, message=message)


def verify(envelope: Any, policy: Policy, state: StateDir, now: float | None = None) -> Verdict:
    now = time.time() if now is None else now
    action = envelope.get("action") if isinstance(envelope, dict) else None
    if not isinstance(action, dict) or not isinstance(action.get("id"), str) or not action["id"]:
        return refuse({"id": ""}, SIGNATURE_INVALID, "the envelope has no action with an id")
    # 1. the pinned key and a good signature (nothing in the action is trusted before this)
    if action.get("key_id") != policy.key_id:
        return refuse(action, SIGNATURE_INVALID, f"key_id {action.get('key_id')!r} is not the pinned key")
    try:
        signature = base64.b64decode(envelope.get("signature") or "", validate=True)
        policy.public_key.verify(signature, canonical(action))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return refuse(action, SIGNATURE_INVALID, "the signature does not verify with the pinned key")
    # 2. addressed to this agent
    if action.get("agent_id") != policy.agent_id:
        return refuse(action, SIGNATURE_INVALID, "the action is addressed to another agent")
    # An id that was run (or refused) before is not run again: its stored outcome is sent again. This comes
    # before the expiry check so a late re-delivery still gets the real result rather than a refusal.
    previous = state.seen_record(action["id"])
    if previous is not None:
        return Verdict("duplicate", action=action, previous=previous)
    # 3. not expired (with the skew allowance)
    try:
        expires = parse_time(action["expires_at"]).timestamp()
    except (KeyError, TypeError, ValueError, AttributeError):
        return refuse(action, EXPIRED, "expires_at is missing or not an ISO 8601 time")
    if expires + policy.skew_seconds <= now:
        return refuse(action, EXPIRED, f"the action expired at {action['expires_at']}")
    # 4. the nonce was not seen under another id
    nonce = action.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        return refuse(action, REPLAYED, "the action carries no nonce")
    owner = state.nonce_owner(nonce)
    if owner is not None and owner != action["id"]:
        return refuse(action, REPLAYED, "the nonce was already used by another action")
    # 5. the local allowlist
    action_type = action.get("type")
    if action_type not in policy.allowlist or action_type not in catalog.SCHEMAS:
        return refuse(action, NOT_ALLOWED, f"{action_type!r} is not in this agent's allowlist")
    # 6. the type's parameter schema (with the local limits)
    try:
        params = catalog.SCHEMAS[action_type].validate(
            action.get("params", {}), policy.limits.get(action_type), policy.local_hosts
        )
    except catalog.ParamsInvalid as error:
        return refuse(action, PARAMS_INVALID, str(error))
    return Verdict("run", action=action, params=params)
