"""A Zeta REST client for a cluster: its endpoints, context path, basic auth from its auth secret, its v1 endpoints,
its per-cluster call timeouts and its TLS settings (a CA bundle, a client certificate and key from secrets)."""

from __future__ import annotations

import os
import ssl
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from controlplane.clusters.domain.aggregate import ClusterError
from controlplane.outbound.configured import configured_policy
from controlplane.seatunnel.client import CallTimeouts, ZetaClient, ZetaError, tls_context
from controlplane.seatunnel.states import REST_V2_SINCE, parse_version
from controlplane.secrets.domain.errors import SecretNotFound
from controlplane.secrets.selectors import resolve_secret_refs

if TYPE_CHECKING:
    from controlplane.clusters.models import Cluster

DEFAULT_TIMEOUT_SECONDS = 5.0
# What `connect` takes from a registered cluster (besides its tenant and workspace).
CONNECTION_FIELDS = (
    "endpoints",
    "context_path",
    "auth_secret",
    "v1_endpoints",
    "timeouts",
    "tls_ca_secret",
    "tls_cert_secret",
    "tls_key_secret",
    "tls_verify",
)


def credentials(tenant_id: str, workspace_id: str, auth_secret: str) -> tuple[str, str] | None:
    """Basic-auth credentials from the named secret ("user:password"), resolved now and never stored."""
    if not auth_secret:
        return None
    try:
        value = resolve_secret_refs(tenant_id, workspace_id, [auth_secret])[auth_secret]
    except SecretNotFound:
        raise ClusterError(
            f"no secret named {auth_secret!r} in this workspace", code="CLUSTER_AUTH_INVALID", field="auth_secret"
        ) from None
    user, sep, password = value.partition(":")
    if not sep or not user:
        raise ClusterError("the auth secret must hold user:password", code="CLUSTER_AUTH_INVALID", field="auth_secret")
    return user, password


def call_timeouts(timeout: float, configured: dict[str, float] | None) -> CallTimeouts:
    """The caller's timeout for connecting, reads and stops (submits and logs get CallTimeouts' longer defaults),
    then what the cluster was registered with, kind by kind: an operator's setting wins."""
    defaults = CallTimeouts()
    base = CallTimeouts(
        connect=timeout,
        read=timeout,
        submit=max(timeout, defaults.submit),
        stop=timeout,
        logs=max(timeout, defaults.logs),
    )
    return replace(base, **{kind: float(value) for kind, value in (configured or {}).items()})


def tls_dir() -> Path:
    """Where a client certificate and key pass through a file for the moment ssl loads them: the data directory's
    own, private to the control plane's user."""
    path = Path(settings.DATA_DIR) / "tls"
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _load_client_certificate(context: ssl.SSLContext, cert_pem: str, key_pem: str) -> None:
    """ssl reads a certificate and key only from a file: one 0600 file lives while it loads and is gone after,
    so no key stays on disk and a rotated secret leaves nothing behind."""
    fd, path = tempfile.mkstemp(dir=tls_dir(), prefix=".client-", suffix=".pem")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{cert_pem.strip()}\n{key_pem.strip()}\n")
        context.load_cert_chain(certfile=path)
    finally:
        Path(path).unlink(missing_ok=True)


def tls_settings(
    tenant_id: str,
    workspace_id: str,
    *,
    verify: bool,
    ca_secret: str,
    cert_secret: str,
    key_secret: str,
) -> ssl.SSLContext | bool:
    """What the client's transport verifies with, from the named secrets resolved now (each client reads them
    afresh, so a rotated secret is used by the next call): False, the shared default context, or a context
    trusting the CA secret and presenting the certificate. CLUSTER_TLS_INVALID naming the field when a secret is
    gone or its text is not usable as what it is named for."""
    names = {
        name: field
        for name, field in (
            (ca_secret, "tls_ca_secret"),
            (cert_secret, "tls_cert_secret"),
            (key_secret, "tls_key_secret"),
        )
        if name
    }
    if not names:
        return tls_context(verify=verify)
    try:
        values = resolve_secret_refs(tenant_id, workspace_id, list(names))
    except SecretNotFound as error:
        missing = error.details.get("names", [])
        field = next((names[n] for n in missing if n in names), "tls_ca_secret")
        raise ClusterError(
            f"no secret named {', '.join(missing)} in this workspace", code="CLUSTER_TLS_INVALID", field=field
        ) from None
    field = "tls_ca_secret"
    try:
        if not verify:
            if not cert_secret:
                return False
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context = ssl.create_default_context(cadata=values[ca_secret] if ca_secret else None)
        if cert_secret:
            field = "tls_cert_secret"
            _load_client_certificate(context, values[cert_secret], values[key_secret])
    except (ssl.SSLError, ValueError):  # a secret whose text is not a CA bundle, a certificate or its key
        raise ClusterError(
            "the TLS material of the cluster cannot be loaded", code="CLUSTER_TLS_INVALID", field=field
        ) from None
    return context


def connect(
    *,
    tenant_id: str,
    workspace_id: str,
    endpoints: list[str],
    context_path: str,
    auth_secret: str,
    v1_endpoints: list[str] | None = None,
    timeouts: dict[str, float] | None = None,
    tls_ca_secret: str = "",
    tls_cert_secret: str = "",
    tls_key_secret: str = "",
    tls_verify: bool = True,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    retries: int = 1,
    api: str = "auto",
) -> ZetaClient:
    """An open client (close it, or use it as a context manager). CLUSTER_AUTH_INVALID if the auth secret is gone,
    CLUSTER_TLS_INVALID if a TLS secret is gone or not a PEM of its kind. Every connection it opens keeps to the
    outbound policy (OUTBOUND_TARGET_FORBIDDEN, nothing sent)."""
    verify = tls_settings(
        tenant_id,
        workspace_id,
        verify=tls_verify,
        ca_secret=tls_ca_secret,
        cert_secret=tls_cert_secret,
        key_secret=tls_key_secret,
    )
    return ZetaClient(
        endpoints,
        context_path=context_path,
        auth=credentials(tenant_id, workspace_id, auth_secret),
        timeouts=call_timeouts(timeout, timeouts),
        retries=retries,
        api=api,
        v1_endpoints=v1_endpoints or None,
        verify=verify,
        policy=configured_policy(),
    )


def connection_of(cluster: Cluster) -> dict[str, Any]:
    """The keyword arguments of `connect` (and of the connection test) for a registered cluster."""
    return {
        "tenant_id": cluster.tenant_id,
        "workspace_id": cluster.workspace_id,
        **{name: getattr(cluster, name) for name in CONNECTION_FIELDS},
    }


# What a user may learn of a failed call: the code, a fixed sentence, the HTTP status, the attempts and the kind
# of the last transport failure. Never the remote body, headers or message: an endpoint may name any host, and
# its answer must not come back through the control plane.
_PUBLIC_MESSAGES = {
    "ZETA_UNREACHABLE": "no endpoint of the cluster answered",
    "ZETA_AUTH_FAILED": "the cluster refused the credentials",
    "ZETA_BAD_RESPONSE": "the endpoint's answer is not a SeaTunnel REST answer",
    "ZETA_REQUEST_REJECTED": "the endpoint refused the request",
    "ZETA_UNSUPPORTED": "the endpoint does not serve the SeaTunnel REST API",
    "ZETA_JOB_NOT_FOUND": "the cluster does not know the job",
    "ZETA_SUBMIT_OUTCOME_UNKNOWN": "the request was sent but no answer came back",
    "ZETA_UNSUPPORTED_VERSION": "the cluster runs a SeaTunnel version the control plane cannot drive",
    "ZETA_LOGS_UNREACHABLE": "no member holding the job's log files answered",
}
# version/needed: the engine version it reported and the oldest supported; nodes: host:port of the members
# whose log files could not be read (as the engine's own listing names them)
_PUBLIC_DETAILS = ("status", "attempts", "failure", "job_id", "version", "needed", "nodes")


def without_remote_text(error: ZetaError) -> ZetaError:
    """The same kind of error, carrying only what the control plane itself knows."""
    details = {key: error.details[key] for key in _PUBLIC_DETAILS if key in error.details}
    return type(error)(_PUBLIC_MESSAGES.get(error.code, "the cluster's answer was not usable"), **details)


def client_for(cluster: Cluster, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, retries: int = 1) -> ZetaClient:
    """An open client for a registered cluster. ``timeout`` is per request and endpoint, unless the cluster was
    given its own timeouts (those win, kind by kind); ``retries`` are extra rounds over all endpoints for reads
    (never for a submit). A cluster known to serve REST v2 (2.3.9 and later, as its last poll or registration
    read) is not asked for its version again on every new client."""
    api = "v2" if parse_version(cluster.engine_version) >= REST_V2_SINCE else "auto"
    return connect(**connection_of(cluster), timeout=timeout, retries=retries, api=api)
