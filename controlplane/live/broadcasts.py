"""Jobs events as live messages: an engine job id is a 64-bit integer, so it goes out as a string (as the API
answers it), never as a JSON number a browser would round."""

from __future__ import annotations

from typing import Any

from controlplane.live.messages import presenter


@presenter("jobs.run_requested", "jobs.run_submitted")
def engine_job_id_as_string(payload: dict[str, Any]) -> dict[str, Any]:
    if payload.get("engine_job_id") is None:
        return payload
    return {**payload, "engine_job_id": str(payload["engine_job_id"])}
