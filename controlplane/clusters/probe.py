"""The connection test: reach a cluster's REST API with its credentials and read its overview."""

from __future__ import annotations

from controlplane.clusters.domain.aggregate import ClusterError
from controlplane.seatunnel.client import Overview, ZetaClient
from controlplane.secrets.domain.errors import SecretNotFound
from controlplane.secrets.selectors import resolve_secret_refs

# A registration or a test waits at most about this long per endpoint (one retry) before ZETA_UNREACHABLE.
PROBE_TIMEOUT_SECONDS = 5.0


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


def probe(*, tenant_id: str, workspace_id: str, endpoints: list[str], context_path: str, auth_secret: str) -> Overview:
    """The cluster's overview, or a ZETA_* error (unreachable, auth failed, bad response)."""
    auth = credentials(tenant_id, workspace_id, auth_secret)
    with ZetaClient(
        endpoints,
        context_path=context_path,
        auth=auth,
        timeout=PROBE_TIMEOUT_SECONDS,
        retries=1,
    ) as client:
        return client.overview()
