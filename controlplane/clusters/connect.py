"""A Zeta REST client for a cluster: its endpoints, context path and basic auth from its auth secret."""

from __future__ import annotations

from typing import TYPE_CHECKING

from controlplane.clusters.domain.aggregate import ClusterError
from controlplane.outbound.configured import configured_policy
from controlplane.seatunnel.client import ZetaClient, ZetaError
from controlplane.seatunnel.states import REST_V2_SINCE, parse_version
from controlplane.secrets.domain.errors import SecretNotFound
from controlplane.secrets.selectors import resolve_secret_refs

if TYPE_CHECKING:
    from controlplane.clusters.models import Cluster

DEFAULT_TIMEOUT_SECONDS = 5.0


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


def connect(
    *,
    tenant_id: str,
    workspace_id: str,
    endpoints: list[str],
    context_path: str,
    auth_secret: str,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    retries: int = 1,
    api: str = "auto",
) -> ZetaClient:
    """An open client (close it, or use it as a context manager). CLUSTER_AUTH_INVALID if the secret is gone.
    Every connection it opens keeps to the outbound policy (OUTBOUND_TARGET_FORBIDDEN, nothing sent)."""
    return ZetaClient(
        endpoints,
        context_path=context_path,
        auth=credentials(tenant_id, workspace_id, auth_secret),
        timeout=timeout,
        retries=retries,
        api=api,
        policy=configured_policy(),
    )


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
}
_PUBLIC_DETAILS = ("status", "attempts", "failure", "job_id")


def without_remote_text(error: ZetaError) -> ZetaError:
    """The same kind of error, carrying only what the control plane itself knows."""
    details = {key: error.details[key] for key in _PUBLIC_DETAILS if key in error.details}
    return type(error)(_PUBLIC_MESSAGES.get(error.code, "the cluster's answer was not usable"), **details)


def client_for(cluster: Cluster, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, retries: int = 1) -> ZetaClient:
    """An open client for a registered cluster. ``timeout`` is per request and endpoint; ``retries`` are extra
    rounds over all endpoints for reads (never for a submit). A cluster known to serve REST v2 (2.3.9 and later,
    as its last poll or registration read) is not asked for its version again on every new client."""
    api = "v2" if parse_version(cluster.engine_version) >= REST_V2_SINCE else "auto"
    return connect(
        tenant_id=cluster.tenant_id,
        workspace_id=cluster.workspace_id,
        endpoints=list(cluster.endpoints),
        context_path=cluster.context_path,
        auth_secret=cluster.auth_secret,
        timeout=timeout,
        retries=retries,
        api=api,
    )
