"""The only writers of the agents context. Each authorizes first (ADR 0018): an operator's write with the point the
API requires (``cluster.update`` for tokens and revocation, ``operation.run`` / ``operation.cancel`` for actions), an
agent's report with ``authorize_agent`` (only about itself: the API hands in the agent its credential named,
``selectors.authenticated_agent_for_system``), the control plane's own work as the system with a reason."""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from controlplane.agents import filestore, selectors, wakeup
from controlplane.agents.domain import action as action_domain
from controlplane.agents.domain import agent as agent_domain
from controlplane.agents.domain.action import ActionAggregate, ActionState
from controlplane.agents.domain.agent import REVOKED, AgentError, AgentState, TokenState
from controlplane.agents.domain.catalog import check_type, point_for
from controlplane.agents.domain.facts import clean_installed, without_installed
from controlplane.agents.models import Action, ActionArtifact, ActionOutput, AgentLiveness, Credential
from controlplane.agents.selectors import CREDENTIAL_PREFIX, AuthenticatedAgent
from controlplane.agents.selectors import credential_digest as digest
from controlplane.agents.signing import active_key, sign
from controlplane.eventlog.aggregates import AggregateSpec, execute, execute_retrying, load
from controlplane.eventlog.errors import ConcurrencyConflict
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.store import StreamRef
from controlplane.iam.access import authorize, authorize_agent
from controlplane.tenancy.models import Tenant

TOKEN_PREFIX = "stbt_"  # noqa: S105  (a prefix, not a secret)
# A redelivered envelope is the same bytes (the signature is deterministic); the agent runs an id once.
REDELIVER_AFTER = timedelta(seconds=30)
MAX_OUTPUT_CHUNK = 64 * 1024

TOKEN = AggregateSpec[TokenState](
    name="agents.bootstrap_token",
    initial=TokenState,
    evolve=agent_domain.evolve_token,
    to_snapshot=agent_domain.token_to_snapshot,
    from_snapshot=agent_domain.token_from_snapshot,
)
AGENT = AggregateSpec[AgentState](
    name="agents.agent",
    initial=AgentState,
    evolve=agent_domain.evolve,
    to_snapshot=agent_domain.to_snapshot,
    from_snapshot=agent_domain.from_snapshot,
)
ACTION = AggregateSpec[ActionAggregate](
    name="agents.action",
    initial=ActionAggregate,
    evolve=action_domain.evolve,
    to_snapshot=action_domain.to_snapshot,
    from_snapshot=action_domain.from_snapshot,
)


def token_stream(token_id: str) -> StreamRef:
    return StreamRef(type="agents.bootstrap_token", id=f"bootstrap-token-{token_id}")


def agent_stream(agent_id: str) -> StreamRef:
    return StreamRef(type="agents.agent", id=f"agent-{agent_id}")


def action_stream(action_id: str) -> StreamRef:
    return StreamRef(type="agents.action", id=f"action-{action_id}")


def heartbeat_interval() -> int:
    return int(getattr(settings, "AGENT_HEARTBEAT_SECONDS", 10))


def poll_timeout() -> int:
    return int(getattr(settings, "AGENT_POLL_TIMEOUT_SECONDS", 25))


def _elsewhere(metadata: Metadata, tenant_id: str) -> bool:
    """Metadata bound to another tenant: the row is answered as unknown there (its own code, as before the
    writers authorized; ``authorize`` would say NOT_FOUND)."""
    return metadata.tenant_id not in (None, tenant_id)


def action_id_for(tenant_id: str, key: str) -> str:
    """The action id a key stands for: the same key in the same tenant is the same action."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"seatunnel-controlplane:agent-action:{tenant_id}/{key}").hex


# -- bootstrap tokens ------------------------------------------------------------------------------------------
def do_issue_bootstrap_token(
    *,
    metadata: Metadata,
    tenant_id: str,
    workspace_id: str,
    cluster_id: str = "",
    expires_in_seconds: int = 3600,
    description: str = "",
) -> tuple[str, str]:
    """A one-time registration token: (token id, token text). The text is returned here only."""
    authorize(metadata, "cluster.update", tenant_id=tenant_id, workspace_id=workspace_id)
    if cluster_id:
        from controlplane.clusters.selectors import live_cluster

        live_cluster(tenant_id, workspace_id, cluster_id)
    token_id = uuid.uuid4().hex
    text = TOKEN_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
    now = timezone.now()
    with transaction.atomic():
        execute(
            TOKEN,
            token_stream(token_id),
            lambda state: agent_domain.issue_token(
                state,
                token_id=token_id,
                tenant_id=tenant_id,
                workspace_id=workspace_id,
                cluster_id=cluster_id,
                now=now,
                expires_in_seconds=expires_in_seconds,
                description=description,
            ),
            replace(metadata, tenant_id=tenant_id, workspace_id=workspace_id),
        )
        Credential.objects.create(id=f"token:{token_id}", digest=digest(text), created_at=now)
    return token_id, text


def do_revoke_bootstrap_token(*, metadata: Metadata, token_id: str) -> None:
    token, _ = load(TOKEN, token_stream(token_id).id)
    authorize(metadata, "cluster.update", tenant_id=token.tenant_id, workspace_id=token.workspace_id or None)
    with transaction.atomic():
        execute(
            TOKEN,
            token_stream(token_id),
            lambda state: agent_domain.revoke_token(state, token_id=token_id),
            replace(metadata, tenant_id=token.tenant_id, workspace_id=token.workspace_id),
        )
        Credential.objects.filter(id=f"token:{token_id}").delete()


# -- registration and authentication ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Registration:
    agent_id: str
    credential: str
    tenant_id: str
    workspace_id: str


def do_register_agent(
    *,
    bootstrap_token: str,
    hostname: str,
    agent_version: str,
    member_address: str,
    allowlist: list[str],
    facts: dict,
    request_id: str = "",
    client_address: str = "",
) -> Registration:
    """Spend a bootstrap token on a new agent. A used, unknown or expired token: AGENT_BOOTSTRAP_TOKEN_INVALID,
    and nothing is written."""
    invalid = AgentError(
        "the bootstrap token is unknown, used, revoked or expired", code="AGENT_BOOTSTRAP_TOKEN_INVALID"
    )
    if not isinstance(bootstrap_token, str) or not bootstrap_token.startswith(TOKEN_PREFIX):
        raise invalid
    row = Credential.objects.filter(digest=digest(bootstrap_token), id__startswith="token:").first()
    if row is None:
        raise invalid
    facts = clean_installed(facts) if isinstance(facts, dict) else {}
    token_id = row.id.removeprefix("token:")
    agent_id = uuid.uuid4().hex
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
    credential = f"{CREDENTIAL_PREFIX}{agent_id}_{secret}"
    now = timezone.now()
    try:
        with transaction.atomic():
            token, version = load(TOKEN, token_stream(token_id).id)
            if not agent_domain.token_usable(token, now):
                raise invalid
            if Tenant.objects.filter(id=token.tenant_id, disabled=True).exists():
                raise AgentError("the token's tenant is disabled", code="TENANT_DISABLED")
            # The bootstrap token, checked above, is this write's credential: no person or agent stands behind the
            # request yet, so the control plane writes as the system on that token's behalf (whoever issued it
            # held cluster.update in the token's workspace).
            system = Metadata.for_system(token.tenant_id, reason="agents.register", workspace_id=token.workspace_id)
            metadata = replace(
                system,
                request_id=request_id[:64],
                correlation_id=request_id[:64] or system.correlation_id,
                client_address=client_address[:64],
            )
            authorize(metadata, "cluster.update", tenant_id=token.tenant_id, workspace_id=token.workspace_id)
            # The token's stream must still be where we read it: a second registration racing this one
            # conflicts here and gets the same answer as a used token.
            execute(
                TOKEN,
                token_stream(token_id),
                lambda state: agent_domain.use_token(state, token_id=token_id, agent_id=agent_id, now=now),
                metadata,
                expected_version=version,
            )
            execute(
                AGENT,
                agent_stream(agent_id),
                lambda state: agent_domain.register(
                    state,
                    agent_id=agent_id,
                    tenant_id=token.tenant_id,
                    workspace_id=token.workspace_id,
                    cluster_id=token.cluster_id,
                    token_id=token_id,
                    hostname=hostname,
                    agent_version=agent_version,
                    member_address=member_address,
                    allowlist=allowlist,
                    facts=without_installed(facts),
                ),
                metadata,
            )
            Credential.objects.filter(id=f"token:{token_id}").delete()
            Credential.objects.create(id=f"agent:{agent_id}", digest=digest(credential), created_at=now)
            AgentLiveness(
                agent_id=agent_id,
                tenant_id=token.tenant_id,
                workspace_id=token.workspace_id,
                last_heartbeat_at=now,
                facts=facts,
                heartbeats=0,
            ).save(force_insert=True)
    except (ConcurrencyConflict, IntegrityError):
        raise invalid from None
    return Registration(
        agent_id=agent_id, credential=credential, tenant_id=token.tenant_id, workspace_id=token.workspace_id
    )


_HEARTBEAT_SQL = (
    "UPDATE agents_agentliveness SET last_heartbeat_at = %s, sent_at = %s, facts = %s, "
    "heartbeats = heartbeats + 1 WHERE agent_id = %s"
)


# -- heartbeats and liveness -----------------------------------------------------------------------------------
def do_record_heartbeat(
    *, metadata: Metadata, agent: AuthenticatedAgent, sent_at: str, facts: dict, now: datetime | None = None
) -> None:
    """Update the liveness row (not an event); a stale or lost agent is online again (an event). The installed
    jars among the facts are kept in their documented shape and bounds (``domain/facts.py``)."""
    authorize_agent(metadata, agent_id=agent.id)
    now = now or timezone.now()
    facts = clean_installed(facts) if isinstance(facts, dict) else {}
    ops = connection.ops
    params = [
        ops.adapt_datetimefield_value(now),
        str(sent_at)[:40],
        ops.adapt_json_value(facts, None),
        agent.id,
    ]
    if connection.vendor == "postgresql":
        # An observation the next heartbeat rewrites: its commit need not wait for the WAL to reach the disk
        # (a crash loses at most the last heartbeats, never an event), so a busy disk does not stall agents.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(_HEARTBEAT_SQL, params)
            updated = cursor.rowcount
    else:
        with connection.cursor() as cursor:  # raw, as authentication: the hot path of every agent
            cursor.execute(_HEARTBEAT_SQL, params)
            updated = cursor.rowcount
    if not updated:
        try:
            with transaction.atomic():
                AgentLiveness(
                    agent_id=agent.id,
                    tenant_id=agent.tenant_id,
                    workspace_id=agent.workspace_id,
                    last_heartbeat_at=now,
                    sent_at=str(sent_at)[:40],
                    facts=facts,
                    heartbeats=1,
                ).save(force_insert=True)
        except IntegrityError:
            pass  # a concurrent heartbeat created it
    if agent.status != agent_domain.ONLINE:
        execute_retrying(
            AGENT, agent_stream(agent.id), lambda state: agent_domain.heard(state, agent_id=agent.id), metadata
        )


def do_observe_silence(
    *, metadata: Metadata, agent_id: str, last_heartbeat_at: datetime, now: datetime, interval_seconds: int
) -> list[str]:
    """An agent silent for 3 intervals becomes stale, for 10 lost; returns the wire names of what changed."""
    agent = selectors.agent_for_system(agent_id)
    if agent is None:
        raise AgentError("no such agent", code="AGENT_NOT_FOUND", field="agent_id")
    authorize(metadata, "cluster.update", tenant_id=agent.tenant_id, workspace_id=agent.workspace_id)
    _, events = execute_retrying(
        AGENT,
        agent_stream(agent_id),
        lambda state: agent_domain.observe_silence(
            state,
            agent_id=agent_id,
            last_heartbeat_at=last_heartbeat_at,
            now=now,
            interval_seconds=interval_seconds,
        ),
        metadata,
    )
    return [event.event_type for event in events]


def check_liveness(*, now: datetime | None = None, interval_seconds: int | None = None) -> dict[str, int]:
    """Online agents silent for 3 intervals become stale, for 10 lost (events, one per change). ``now`` and
    ``interval_seconds`` default to the clock and CONTROLPLANE_AGENT_HEARTBEAT_SECONDS."""
    now = now or timezone.now()
    interval = interval_seconds or heartbeat_interval()
    threshold = now - timedelta(seconds=agent_domain.STALE_AFTER_INTERVALS * interval)
    counts = {"stale": 0, "lost": 0}
    for agent in selectors.silent_agents_for_system(threshold, (agent_domain.ONLINE, agent_domain.STALE)):
        metadata = Metadata.for_system(agent.tenant_id, workspace_id=agent.workspace_id, reason="agents.check_liveness")
        changed = do_observe_silence(
            metadata=metadata,
            agent_id=agent.id,
            last_heartbeat_at=agent.last_heartbeat_at,
            now=now,
            interval_seconds=interval,
        )
        for name in changed:
            counts["stale" if name == "agents.agent_stale" else "lost"] += 1
    return counts


def do_revoke_agent(*, metadata: Metadata, agent_id: str, reason: str = "") -> None:
    """Revoke the credential: every later request answers 401 AGENT_REVOKED. Its unfinished actions end after
    commit, through the ``agents.revoked_agents_actions`` subscriber (``subscribers.py``)."""
    agent = selectors.agent_for_system(agent_id)
    if agent is None or _elsewhere(metadata, agent.tenant_id):
        raise AgentError("no such agent", code="AGENT_NOT_FOUND", field="agent_id")
    authorize(metadata, "cluster.update", tenant_id=agent.tenant_id, workspace_id=agent.workspace_id)
    execute(
        AGENT,
        agent_stream(agent_id),
        lambda state: agent_domain.revoke(state, agent_id=agent_id, reason=reason),
        replace(metadata, tenant_id=agent.tenant_id, workspace_id=agent.workspace_id),
    )


def do_end_action_of_revoked_agent(*, metadata: Metadata, action_id: str, agent_id: str) -> None:
    """One unfinished action of a revoked agent ends: a queued one is cancelled, one already handed over fails with
    AGENT_REVOKED (no result can arrive any more). An action that ended meanwhile is left as it is."""
    row = selectors.action_for_system(action_id)
    if row is None or row.agent_id != agent_id:
        raise AgentError("no such action for this agent", code="AGENT_ACTION_NOT_FOUND")
    authorize(metadata, "operation.cancel", tenant_id=row.tenant_id, workspace_id=row.workspace_id)

    def decide(state: ActionAggregate) -> list[object]:
        if state.state == ActionState.PENDING:
            return action_domain.request_cancel(state, action_id=action_id)
        return action_domain.finish(
            state,
            action_id=action_id,
            status="failed",
            exit_code=None,
            data={},
            error_code="AGENT_REVOKED",
            error_message="the agent was revoked before it reported a result",
            output_tail="",
            started_at="",
            finished_at=timezone.now().isoformat(),
        )

    execute_retrying(ACTION, action_stream(action_id), decide, metadata)


# -- actions ---------------------------------------------------------------------------------------------------
def do_request_action(
    *,
    metadata: Metadata,
    agent_id: str,
    action_type: str,
    params: dict,
    key: str,
    expires_in_seconds: int = 600,
    operation_id: str = "",
    step_key: str = "",
    now: datetime | None = None,
) -> str:
    """Queue a signed action for an agent; the same key again returns the same id and writes nothing."""
    agent = selectors.agent_for_system(agent_id)
    if agent is None or _elsewhere(metadata, agent.tenant_id):
        raise AgentError("no such agent", code="AGENT_NOT_FOUND", field="agent_id")
    authorize(metadata, point_for(action_type), tenant_id=agent.tenant_id, workspace_id=agent.workspace_id)
    check_type(action_type)
    action_id = action_id_for(agent.tenant_id, key)
    existing = selectors.action_for_system(action_id)
    if existing is not None:
        if (existing.agent_id, existing.type) != (agent_id, action_type):
            raise AgentError(
                "this key already names an action of another type or agent", code="AGENT_ACTION_KEY_REUSED"
            )
        return action_id
    if agent.status == REVOKED:
        raise AgentError("the agent is revoked", code="AGENT_REVOKED", field="agent_id")
    if action_type not in agent.allowlist:
        raise AgentError(
            f"the agent does not allow {action_type!r} (its allowlist: {', '.join(agent.allowlist) or 'empty'})",
            code="AGENT_ACTION_NOT_ALLOWED",
            field="type",
        )
    now = now or timezone.now()
    nonce = base64.b64encode(os.urandom(16)).decode("ascii")
    events = execute_retrying(
        ACTION,
        action_stream(action_id),
        lambda state: action_domain.request(
            state,
            action_id=action_id,
            agent_id=agent_id,
            action_type=action_type,
            params=params,
            key=key,
            nonce=nonce,
            now=now,
            expires_in_seconds=expires_in_seconds,
            operation_id=operation_id,
            step_key=step_key,
        ),
        replace(metadata, tenant_id=agent.tenant_id, workspace_id=agent.workspace_id),
    )[1]
    if events:
        transaction.on_commit(lambda: wakeup.notify(agent_id))
    return action_id


def envelope_for(row: Action, key_id: str, key: Any = None) -> dict[str, Any]:
    action = {
        "id": row.id,
        "agent_id": row.agent_id,
        "type": row.type,
        "params": row.params,
        "nonce": row.nonce,
        "issued_at": _iso(row.issued_at),
        "expires_at": _iso(row.expires_at),
        "key_id": key_id,
    }
    return sign(action, key)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def do_claim_actions(
    *, metadata: Metadata, agent: AuthenticatedAgent, now: datetime | None = None, limit: int = 10
) -> list[dict]:
    """Envelopes of the agent's queued actions (now DELIVERED), plus those handed over earlier that never
    started (the answer may have been lost; the agent runs an id once)."""
    authorize_agent(metadata, agent_id=agent.id)
    now = now or timezone.now()
    rows = selectors.claimable_actions_for_system(agent.id, now, REDELIVER_AFTER, limit)
    if not rows:
        return []
    key = active_key()
    envelopes = []
    for row in rows:
        if row.state == ActionState.PENDING:
            _, events = execute_retrying(
                ACTION,
                action_stream(row.id),
                lambda state, a=row.id: action_domain.deliver(state, action_id=a, key_id=key.key_id),
                metadata,
            )
            if not events and selectors.action_state_for_system(row.id) != ActionState.DELIVERED:
                continue  # cancelled or expired meanwhile
        envelopes.append(envelope_for(row, key.key_id, key))
    return envelopes


def _own_action(agent_id: str, action_id: str) -> None:
    if not selectors.agent_owns_action_for_system(agent_id, action_id):
        raise AgentError("no such action for this agent", code="AGENT_ACTION_NOT_FOUND")


def do_record_progress(
    *,
    metadata: Metadata,
    agent_id: str,
    action_id: str,
    seq: int,
    percent: int | None,
    message: str,
    output: str = "",
    now: datetime | None = None,
) -> bool:
    """Store the output chunk, turn a new message or percent into an event (at most one a second); answers
    whether a cancel was requested."""
    authorize_agent(metadata, agent_id=agent_id)
    _own_action(agent_id, action_id)
    now = now or timezone.now()
    if output:
        ActionOutput.objects.bulk_create(
            [ActionOutput(action_id=action_id, seq=seq, chunk=output[:MAX_OUTPUT_CHUNK], received_at=now)],
            ignore_conflicts=True,
        )
    state, _ = execute_retrying(
        ACTION,
        action_stream(action_id),
        lambda s: action_domain.progress(s, action_id=action_id, seq=seq, percent=percent, message=message, now=now),
        metadata,
    )
    return state.cancel_requested


def do_record_result(
    *,
    metadata: Metadata,
    agent_id: str,
    action_id: str,
    status: str,
    exit_code: int | None,
    data: dict,
    output_tail: str,
    error_code: str,
    error_message: str,
    started_at: str,
    finished_at: str,
) -> str:
    """Record the agent's result; a second delivery changes nothing. Returns the action's state."""
    authorize_agent(metadata, agent_id=agent_id)
    _own_action(agent_id, action_id)
    state, _ = execute_retrying(
        ACTION,
        action_stream(action_id),
        lambda s: action_domain.finish(
            s,
            action_id=action_id,
            status=status,
            exit_code=exit_code,
            data=data,
            error_code=error_code,
            error_message=error_message,
            output_tail=output_tail,
            started_at=started_at,
            finished_at=finished_at,
        ),
        metadata,
    )
    return str(state.state)


def do_record_refusal(*, metadata: Metadata, agent_id: str, action_id: str, code: str, message: str) -> str:
    authorize_agent(metadata, agent_id=agent_id)
    _own_action(agent_id, action_id)
    state, _ = execute_retrying(
        ACTION,
        action_stream(action_id),
        lambda s: action_domain.refuse(s, action_id=action_id, code=code, message=message),
        metadata,
    )
    return str(state.state)


def do_store_artifact(
    *, metadata: Metadata, agent_id: str, action_id: str, sha256: str, read: Callable[[int], bytes]
) -> int:
    """Store a file the agent uploads for its action (content-addressed, checked against ``sha256``); returns
    its size. Storage beside the log, not an event."""
    authorize_agent(metadata, agent_id=agent_id)
    _own_action(agent_id, action_id)
    size = filestore.store_artifact(read, sha256)
    ActionArtifact.objects.bulk_create(
        [ActionArtifact(action_id=action_id, sha256=sha256, size=size, uploaded_at=timezone.now())],
        ignore_conflicts=True,
    )
    return size


def do_request_cancel(*, metadata: Metadata, action_id: str) -> None:
    """Cancel an action: a queued one at once, a running one through the agent's next progress answer."""
    row = selectors.action_for_system(action_id)
    if row is None or _elsewhere(metadata, row.tenant_id):
        raise AgentError("no such action", code="AGENT_ACTION_NOT_FOUND")
    authorize(metadata, "operation.cancel", tenant_id=row.tenant_id, workspace_id=row.workspace_id)
    execute_retrying(
        ACTION,
        action_stream(action_id),
        lambda s: action_domain.request_cancel(s, action_id=action_id),
        replace(metadata, tenant_id=row.tenant_id, workspace_id=row.workspace_id),
    )


def do_expire_action(*, metadata: Metadata, action_id: str, now: datetime) -> int:
    """A queued action past its expiry, or a handed-over one past it plus the skew allowance: EXPIRED."""
    row = selectors.action_for_system(action_id)
    if row is None:
        raise AgentError("no such action", code="AGENT_ACTION_NOT_FOUND")
    authorize(metadata, "operation.cancel", tenant_id=row.tenant_id, workspace_id=row.workspace_id)
    _, events = execute_retrying(
        ACTION, action_stream(action_id), lambda s: action_domain.expire(s, action_id=action_id, now=now), metadata
    )
    return len(events)


def expire_actions(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    expired = 0
    for action_id, tenant_id, workspace_id in selectors.expired_actions_for_system(now):
        metadata = Metadata.for_system(tenant_id, workspace_id=workspace_id, reason="agents.check_liveness")
        expired += do_expire_action(metadata=metadata, action_id=action_id, now=now)
    return expired
