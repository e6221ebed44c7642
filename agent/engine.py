"""The few engine REST calls the agent makes itself: /overview and /thread-dump (ZETA_FACTS §1.2, §1.3).

REST v2 (Jetty, 2.3.9+) first; on a 404 the v1 Hazelcast path, which is all that engines before 2.3.9 serve.
Every connection keeps to an outbound policy (`agent/outbound.py`): OutboundForbidden before anything is sent.
"""

from __future__ import annotations

from typing import Any

import httpx

from agent.outbound import OutboundPolicy, PinnedTransport

DEFAULT_POLICY = OutboundPolicy()


def get_json(base_url: str, path: str, timeout: float = 5.0, *, policy: OutboundPolicy = DEFAULT_POLICY) -> Any:
    """GET a REST v2 path, falling back to /hazelcast/rest/maps<path>; raises httpx.HTTPError, ValueError or
    OutboundForbidden."""
    base_url = base_url.rstrip("/")
    with httpx.Client(transport=PinnedTransport(policy), timeout=timeout, follow_redirects=False) as client:
        response = client.get(base_url + path)
        if response.status_code == 404:
            response = client.get(base_url + "/hazelcast/rest/maps" + path)
        response.raise_for_status()
        return response.json()


def overview(base_url: str, timeout: float = 5.0, *, policy: OutboundPolicy = DEFAULT_POLICY) -> dict[str, Any]:
    answer = get_json(base_url, "/overview", timeout, policy=policy)
    if not isinstance(answer, dict) or "projectVersion" not in answer:
        # Only an engine's overview goes back to the control plane, never another service's answer.
        raise ValueError("/overview did not answer with a SeaTunnel overview")
    return answer
