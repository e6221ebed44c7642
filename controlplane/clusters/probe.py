"""The connection test: reach a cluster's REST API with its credentials and read its overview."""

from __future__ import annotations

from typing import Any

from controlplane.clusters.connect import connect, credentials, without_remote_text
from controlplane.seatunnel.client import Overview, ZetaError

__all__ = ["PROBE_TIMEOUT_SECONDS", "credentials", "probe"]

# A registration or a test waits at most about this long per endpoint (one retry) before ZETA_UNREACHABLE, unless
# the cluster's own timeouts say otherwise.
PROBE_TIMEOUT_SECONDS = 5.0


def probe(*, tenant_id: str, workspace_id: str, endpoints: list[str], context_path: str, **connection: Any) -> Overview:
    """The cluster's overview, or a ZETA_* error (unreachable, auth failed, bad response, a version too old to
    drive) that carries none of the endpoint's answer, or OUTBOUND_TARGET_FORBIDDEN (nothing was sent).
    ``connection``: the rest of `connect`'s settings (auth secret, v1 endpoints, timeouts, TLS)."""
    with connect(
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        endpoints=endpoints,
        context_path=context_path,
        timeout=PROBE_TIMEOUT_SECONDS,
        retries=1,
        **connection,
    ) as client:
        try:
            return client.overview()
        except ZetaError as error:
            raise without_remote_text(error) from None
