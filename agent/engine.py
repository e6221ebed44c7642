"""The few engine REST calls the agent makes itself: /overview and /thread-dump (ZETA_FACTS §1.2, §1.3).

REST v2 (Jetty, 2.3.9+) first; on a 404 the v1 Hazelcast path, which is all that engines before 2.3.9 serve.
"""

from __future__ import annotations

from typing import Any

import httpx


def get_json(base_url: str, path: str, timeout: float = 5.0) -> Any:
    """GET a REST v2 path, falling back to /hazelcast/rest/maps<path>; raises httpx.HTTPError or ValueError."""
    base_url = base_url.rstrip("/")
    response = httpx.get(base_url + path, timeout=timeout)
    if response.status_code == 404:
        response = httpx.get(base_url + "/hazelcast/rest/maps" + path, timeout=timeout)
    response.raise_for_status()
    return response.json()


def overview(base_url: str, timeout: float = 5.0) -> dict[str, Any]:
    answer = get_json(base_url, "/overview", timeout)
    if not isinstance(answer, dict):
        raise ValueError("/overview did not answer with an object")
    return answer
