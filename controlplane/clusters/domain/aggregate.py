"""The cluster aggregate: pure decide/evolve and the validation of what a cluster is registered with."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from controlplane.clusters.domain.events import (
    ClusterReachable,
    ClusterRegistered,
    ClusterRemoved,
    ClusterUnreachable,
    ClusterUpdated,
    NodeInstalled,
    NodeJoined,
    NodeLost,
    NodeRemoved,
    NodeReturned,
    NodeRoleChanged,
)
from controlplane.errors import DomainError

FORMS = ("bare_metal", "compose", "kubernetes")
MODES = ("hybrid", "separated")
MAX_ENDPOINTS = 8
MAX_LABELS = 32
_LABEL_KEY = re.compile(r"^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
TLS_FIELDS = ("tls_ca_secret", "tls_cert_secret", "tls_key_secret", "tls_verify", "tls_verify_reason")
# How the control plane reaches the cluster besides its endpoints: a change is tested against the cluster first.
CONNECTION_SETTINGS = ("v1_endpoints", "timeouts", *TLS_FIELDS)
EDITABLE = ("name", "endpoints", "context_path", "auth_secret", "labels", *CONNECTION_SETTINGS)
# Seconds a call kind may be given, lowest and highest. A submit waits for the engine to build the job's connectors
# (JDBC and CDC sources connect to their database first), so it may take minutes; connecting never should.
TIMEOUT_RANGES: dict[str, tuple[float, float]] = {
    "connect": (0.5, 60.0),
    "read": (1.0, 600.0),
    "submit": (5.0, 1800.0),
    "stop": (1.0, 600.0),
    "logs": (1.0, 600.0),
}


class ClusterError(DomainError):
    code = "CLUSTER_INVALID"


NODE_ROLES = ("master", "worker", "hybrid", "")
ONLINE, LOST = "online", "lost"


@dataclass(frozen=True)
class ClusterState:
    exists: bool = False
    removed: bool = False
    fields: dict[str, Any] = field(default_factory=dict)
    # What the log knows of the cluster's observed state: None = never observed unreachable since
    # registration (the connection test reached it); nodes: address -> {"status": online|lost, "role": ...,
    # "installed_role": the role an install recorded, if one did}.
    reachable: bool | None = None
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise ClusterError("cluster name must be 1..100 characters", code="CLUSTER_NAME_INVALID", field="name")
    return name


def check_endpoints(endpoints: list[str]) -> list[str]:
    if not endpoints or len(endpoints) > MAX_ENDPOINTS:
        raise ClusterError(
            f"give 1..{MAX_ENDPOINTS} REST endpoints", code="CLUSTER_ENDPOINT_INVALID", field="endpoints"
        )
    cleaned = []
    for url in endpoints:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise ClusterError(
                f"{url!r} is not http(s)://host[:port] (the context path is a field of its own)",
                code="CLUSTER_ENDPOINT_INVALID",
                field="endpoints",
            )
        cleaned.append(f"{parts.scheme}://{parts.netloc}")
    if len(set(cleaned)) != len(cleaned):
        raise ClusterError("an endpoint is listed twice", code="CLUSTER_ENDPOINT_INVALID", field="endpoints")
    return cleaned


def check_labels(labels: dict[str, str]) -> dict[str, str]:
    if len(labels) > MAX_LABELS:
        raise ClusterError(f"at most {MAX_LABELS} labels", code="CLUSTER_LABELS_INVALID", field="labels")
    for key, value in labels.items():
        if not isinstance(key, str) or not _LABEL_KEY.match(key) or not isinstance(value, str) or len(value) > 200:
            raise ClusterError(
                f"label {key!r} must be a lower-case key (a-z 0-9 . _ / -) with a text value of at most 200",
                code="CLUSTER_LABELS_INVALID",
                field="labels",
            )
    return dict(sorted(labels.items()))


def check_auth_secret(name: str) -> str:
    if name and not _SECRET_NAME.match(name):
        raise ClusterError("auth_secret names a secret", code="CLUSTER_AUTH_INVALID", field="auth_secret")
    return name


def check_v1_endpoints(endpoints: list[str]) -> list[str]:
    """Where the v1 REST answers when it is not on the v2 endpoints (2.3.6-2.3.8 serve it on the member port,
    5801). Empty: the same endpoints."""
    if not endpoints:
        return []
    try:
        return check_endpoints(endpoints)
    except ClusterError as error:
        raise ClusterError(error.message, code=error.code, field="v1_endpoints") from None


def check_timeouts(timeouts: Any) -> dict[str, float]:
    """Seconds per call kind, each within TIMEOUT_RANGES; kinds not given keep the defaults."""
    if not isinstance(timeouts, dict):
        raise ClusterError("timeouts is an object of seconds per call kind", code="CLUSTER_TIMEOUTS_INVALID")
    cleaned: dict[str, float] = {}
    for kind, value in sorted(timeouts.items()):
        if kind not in TIMEOUT_RANGES:
            raise ClusterError(
                f"{kind!r} is not a call kind ({', '.join(TIMEOUT_RANGES)})",
                code="CLUSTER_TIMEOUTS_INVALID",
                field=f"timeouts.{kind}",
            )
        low, high = TIMEOUT_RANGES[kind]
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ClusterError(
                f"timeouts.{kind} is seconds from {low:g} to {high:g}",
                code="CLUSTER_TIMEOUTS_INVALID",
                field=f"timeouts.{kind}",
                minimum=low,
                maximum=high,
            )
        cleaned[kind] = float(value)
    return cleaned


def _check_secret_name(name: str, field_name: str) -> str:
    if name and not _SECRET_NAME.match(name):
        raise ClusterError(f"{field_name} names a secret", code="CLUSTER_TLS_INVALID", field=field_name)
    return name


def check_tls(settings: dict[str, Any], *, turning_off: bool) -> None:
    """TLS settings that go together: a client certificate with its key; verification off only with a reason
    (``turning_off``: this change switches it off, so it must say why) and not beside a CA to verify with."""
    for name in ("tls_ca_secret", "tls_cert_secret", "tls_key_secret"):
        _check_secret_name(settings.get(name, ""), name)
    if bool(settings.get("tls_cert_secret")) != bool(settings.get("tls_key_secret")):
        raise ClusterError(
            "a client certificate needs its key: give tls_cert_secret and tls_key_secret together",
            code="CLUSTER_TLS_INVALID",
            field="tls_key_secret" if settings.get("tls_cert_secret") else "tls_cert_secret",
        )
    if settings.get("tls_verify", True) is False:
        if settings.get("tls_ca_secret"):
            raise ClusterError(
                "a CA bundle is for verifying: give tls_ca_secret or tls_verify false, not both",
                code="CLUSTER_TLS_INVALID",
                field="tls_verify",
            )
        if turning_off and not str(settings.get("tls_verify_reason", "")).strip():
            raise ClusterError(
                "turning TLS verification off needs a reason (tls_verify_reason): it is recorded with who did it",
                code="CLUSTER_TLS_REASON_REQUIRED",
                field="tls_verify_reason",
            )


def register(
    state: ClusterState,
    *,
    cluster_id: str,
    tenant_id: str,
    workspace_id: str,
    name: str,
    form: str,
    mode: str,
    engine_version: str,
    endpoints: list[str],
    context_path: str,
    auth_secret: str,
    labels: dict[str, str],
    v1_endpoints: list[str] | None = None,
    timeouts: dict[str, float] | None = None,
    tls_ca_secret: str = "",
    tls_cert_secret: str = "",
    tls_key_secret: str = "",
    tls_verify: bool = True,
    tls_verify_reason: str = "",
) -> list[object]:
    _check_new(state, form, mode)
    return [
        ClusterRegistered(
            cluster_id=cluster_id,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            name=check_name(name),
            form=form,
            mode=mode,
            engine_version=engine_version,
            endpoints=check_endpoints(endpoints),
            context_path=context_path.strip().strip("/"),
            auth_secret=check_auth_secret(auth_secret),
            labels=check_labels(labels),
            **_connection_settings(
                {
                    "v1_endpoints": v1_endpoints or [],
                    "timeouts": timeouts or {},
                    "tls_ca_secret": tls_ca_secret,
                    "tls_cert_secret": tls_cert_secret,
                    "tls_key_secret": tls_key_secret,
                    "tls_verify": tls_verify,
                    "tls_verify_reason": tls_verify_reason,
                },
                turning_off=not tls_verify,
            ),
        )
    ]


def _connection_settings(settings: dict[str, Any], *, turning_off: bool) -> dict[str, Any]:
    check_tls(settings, turning_off=turning_off)
    reason = str(settings["tls_verify_reason"]).strip()[:500] if settings["tls_verify"] is False else ""
    return {
        "v1_endpoints": check_v1_endpoints(settings["v1_endpoints"]),
        "timeouts": check_timeouts(settings["timeouts"]),
        "tls_ca_secret": settings["tls_ca_secret"],
        "tls_cert_secret": settings["tls_cert_secret"],
        "tls_key_secret": settings["tls_key_secret"],
        "tls_verify": bool(settings["tls_verify"]),
        "tls_verify_reason": reason,
    }


def update(state: ClusterState, *, cluster_id: str, changes: dict[str, Any]) -> list[object]:
    _require_live(state, cluster_id)
    unknown = set(changes) - set(EDITABLE) - {"engine_version"}
    if unknown:
        raise ClusterError(
            f"{sorted(unknown)[0]} cannot be changed", code="CLUSTER_FIELD_READONLY", field=sorted(unknown)[0]
        )
    checks: dict[str, Callable[[Any], Any]] = {
        "name": check_name,
        "endpoints": check_endpoints,
        "labels": check_labels,
        "auth_secret": check_auth_secret,
        "context_path": lambda v: v.strip().strip("/"),
        "engine_version": lambda v: v,
    }
    cleaned = {key: checks[key](value) for key, value in changes.items() if key in checks}
    if any(key in changes for key in CONNECTION_SETTINGS):
        current = {key: state.fields.get(key, _DEFAULTS[key]) for key in CONNECTION_SETTINGS}
        turning_off = changes.get("tls_verify") is False and current["tls_verify"] is not False
        if changes.get("tls_verify") is False and "tls_verify_reason" not in changes:
            changes = {**changes, "tls_verify_reason": ""}  # each switch off says its own why
        merged = {**current, **{key: changes[key] for key in CONNECTION_SETTINGS if key in changes}}
        settings = _connection_settings(merged, turning_off=turning_off)
        cleaned.update({key: value for key, value in settings.items() if key in changes or key == "tls_verify_reason"})
    effective = {key: value for key, value in cleaned.items() if state.fields.get(key, _DEFAULTS.get(key)) != value}
    return [ClusterUpdated(cluster_id=cluster_id, changes=effective)] if effective else []


_DEFAULTS: dict[str, Any] = {
    "v1_endpoints": [],
    "timeouts": {},
    "tls_ca_secret": "",
    "tls_cert_secret": "",
    "tls_key_secret": "",
    "tls_verify": True,
    "tls_verify_reason": "",
}


def remove(state: ClusterState, *, cluster_id: str) -> list[object]:
    _require_live(state, cluster_id)
    return [ClusterRemoved(cluster_id=cluster_id)]


def observe(
    state: ClusterState,
    *,
    cluster_id: str,
    reachable: bool,
    engine_version: str = "",
    error_code: str = "",
    error_message: str = "",
    members: dict[str, str] | None = None,
) -> list[object]:
    """Events for what changed since the last observation; none when nothing did.

    members: address -> role of every member the engine listed, or None when the answer does not identify
    members (older engines list no addresses; an empty list during a master election says nothing either).
    While the cluster is unreachable its nodes keep their last known status: not hearing is not losing.
    """
    _require_live(state, cluster_id)
    if not reachable:
        if state.reachable is False:
            return []
        return [ClusterUnreachable(cluster_id=cluster_id, error_code=error_code, error_message=error_message[:500])]
    events: list[object] = []
    if state.reachable is False:
        events.append(ClusterReachable(cluster_id=cluster_id, engine_version=engine_version))
    if engine_version and engine_version != state.fields.get("engine_version"):
        events.append(ClusterUpdated(cluster_id=cluster_id, changes={"engine_version": engine_version}))
    if not members:
        return events
    for address, role in sorted(members.items()):
        known = state.nodes.get(address)
        if not role and known is not None and known.get("installed_role"):
            # The engine does not say (2.3.x lists a worker and a standby master alike); the installer said.
            role = known["installed_role"]
        if known is None:
            events.append(NodeJoined(cluster_id=cluster_id, address=address, role=role))
        elif known["status"] == LOST:
            events.append(NodeReturned(cluster_id=cluster_id, address=address, role=role))
        elif known["role"] != role:
            events.append(
                NodeRoleChanged(cluster_id=cluster_id, address=address, role=role, previous_role=known["role"])
            )
    for address, known in sorted(state.nodes.items()):
        if known["status"] == ONLINE and address not in members:
            events.append(NodeLost(cluster_id=cluster_id, address=address))
    return events


def _check_new(state: ClusterState, form: str, mode: str) -> None:
    """What a registered and a declared cluster both need: a new id, a known form and mode."""
    if state.exists:
        raise ClusterError("cluster already exists", code="CLUSTER_EXISTS")
    if form not in FORMS:
        raise ClusterError(f"form is one of {', '.join(FORMS)}", code="CLUSTER_FORM_INVALID", field="form")
    if mode not in MODES:
        raise ClusterError(f"mode is one of {', '.join(MODES)}", code="CLUSTER_MODE_INVALID", field="mode")


def declare(
    state: ClusterState,
    *,
    cluster_id: str,
    tenant_id: str,
    workspace_id: str,
    name: str,
    form: str,
    mode: str,
    labels: dict[str, str],
) -> list[object]:
    """A cluster that an install_cluster operation will put on its agents' nodes: no endpoints and no version
    yet (nothing to test a connection against); the install registers them (``record_install``)."""
    _check_new(state, form, mode)
    return [
        ClusterRegistered(
            cluster_id=cluster_id,
            tenant_id=tenant_id,
            workspace_id=workspace_id,
            name=check_name(name),
            form=form,
            mode=mode,
            engine_version="",
            endpoints=[],
            context_path="",
            auth_secret="",
            labels=check_labels(labels),
            **_connection_settings(dict(_DEFAULTS), turning_off=False),
        )
    ]


def record_install(
    state: ClusterState,
    *,
    cluster_id: str,
    engine_version: str,
    endpoints: list[str],
    mode: str | None,
    nodes: list[dict[str, Any]],
) -> list[object]:
    """What an install (or an upgrade, a scale out) found on the nodes: the REST endpoints and engine version of
    the cluster, and per node (``address``, ``role``, ``facts``) a member joined, back or with its new role, and
    the facts it was installed with. ``endpoints``: the cluster's REST endpoints after the change (the masters'
    and hybrids' first); none given keeps the registered ones."""
    _require_live(state, cluster_id)
    changes: dict[str, Any] = {}
    if endpoints:
        changes["endpoints"] = check_endpoints(endpoints)
    if engine_version:
        changes["engine_version"] = engine_version
    if mode is not None:
        if mode not in MODES:
            raise ClusterError(f"mode is one of {', '.join(MODES)}", code="CLUSTER_MODE_INVALID", field="mode")
        changes["mode"] = mode
    changes = {k: v for k, v in changes.items() if state.fields.get(k) != v}
    events: list[object] = [ClusterUpdated(cluster_id=cluster_id, changes=changes)] if changes else []
    for node in nodes:
        address, role = str(node["address"]), str(node.get("role") or "")
        if role not in NODE_ROLES:
            raise ClusterError(f"role is one of {', '.join(NODE_ROLES)}", code="CLUSTER_NODE_INVALID", field="role")
        known = state.nodes.get(address)
        if known is None:
            events.append(NodeJoined(cluster_id=cluster_id, address=address, role=role))
        elif known["status"] == LOST:
            events.append(NodeReturned(cluster_id=cluster_id, address=address, role=role))
        elif known["role"] != role:
            events.append(
                NodeRoleChanged(cluster_id=cluster_id, address=address, role=role, previous_role=known["role"])
            )
        events.append(NodeInstalled(cluster_id=cluster_id, address=address, role=role, facts=dict(node["facts"])))
    return events


def remove_node(state: ClusterState, *, cluster_id: str, address: str) -> list[object]:
    """A node taken out on purpose (scale in): it leaves the member list, neither online nor lost."""
    _require_live(state, cluster_id)
    if address not in state.nodes:
        return []
    return [NodeRemoved(cluster_id=cluster_id, address=address)]


def _require_live(state: ClusterState, cluster_id: str) -> None:
    if not state.exists or state.removed:
        raise ClusterError("no such cluster", code="CLUSTER_NOT_FOUND", cluster_id=cluster_id)


def evolve(state: ClusterState, event: Any) -> ClusterState:
    data = event.data
    if isinstance(data, ClusterRegistered):
        fields = {k: getattr(data, k) for k in (*EDITABLE, "engine_version", "tenant_id", "workspace_id")}
        return ClusterState(exists=True, fields=fields)
    if isinstance(data, ClusterUpdated):
        return replace(state, fields={**state.fields, **data.changes})
    if isinstance(data, ClusterRemoved):
        return replace(state, removed=True)
    if isinstance(data, ClusterUnreachable):
        return replace(state, reachable=False)
    if isinstance(data, ClusterReachable):
        return replace(state, reachable=True)
    if isinstance(data, NodeRemoved):
        return replace(state, nodes={k: v for k, v in state.nodes.items() if k != data.address})
    if isinstance(data, NodeJoined | NodeReturned | NodeRoleChanged | NodeInstalled):
        node = {**state.nodes.get(data.address, {}), "status": ONLINE, "role": data.role}
        if isinstance(data, NodeInstalled):
            node["installed_role"] = data.role  # what the installer configured: kept when the engine cannot tell
        return replace(state, nodes={**state.nodes, data.address: node})
    if isinstance(data, NodeLost):
        node = {"role": "", **state.nodes.get(data.address, {}), "status": LOST}
        return replace(state, nodes={**state.nodes, data.address: node})
    return state


def to_snapshot(state: ClusterState) -> dict[str, Any]:
    return {
        "exists": state.exists,
        "removed": state.removed,
        "fields": state.fields,
        "reachable": state.reachable,
        "nodes": state.nodes,
    }


def from_snapshot(data: dict[str, Any]) -> ClusterState:
    return ClusterState(**data)
