"""HTTP calls to the control plane's /agent/v1/ endpoints (docs/AGENT_PROTOCOL.md).

Errors come in three kinds the loops treat differently:
- `Unavailable`: no answer, or a 5xx (or 429). Retry with backoff; nothing is lost. `TenantDisabled` (403
  TENANT_DISABLED: the agent's tenant is disabled) is one too: the agent keeps its credential and its outbox and
  backs off until the tenant is enabled again.
- `CredentialRejected`: 401 AGENT_REVOKED / AGENT_CREDENTIAL_INVALID. The agent stops.
- `ApiError`: any other non-2xx answer, with the error body's code.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx

from agent import __version__

REVOKED = "AGENT_REVOKED"
CREDENTIAL_INVALID = "AGENT_CREDENTIAL_INVALID"
TENANT_DISABLED = "TENANT_DISABLED"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class CredentialRejected(ApiError):
    pass


class Unavailable(Exception):
    pass


class TenantDisabled(Unavailable):
    pass


class ControlPlane:
    def __init__(self, server: str, credential: str | None = None, ca_file: str | None = None) -> None:
        self.server = server.rstrip("/")
        self.credential = credential
        self._verify: Any = ca_file if ca_file else True
        self._local = threading.local()

    def _client(self) -> httpx.Client:
        # One client per thread: the heartbeat, poll, outbox and worker threads never share a connection.
        client = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(
                base_url=self.server,
                verify=self._verify,
                timeout=httpx.Timeout(30.0, connect=10.0),
                headers={"User-Agent": f"seatunnel-agent/{__version__}"},
            )
            self._local.client = client
        return client

    def close(self) -> None:
        client = getattr(self._local, "client", None)
        if client is not None:
            client.close()
            self._local.client = None

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.credential:
            headers["Authorization"] = f"Agent {self.credential}"
        return headers

    def _call(self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any) -> httpx.Response:
        headers = self._headers(kwargs.pop("headers", None))
        try:
            response = self._client().request(
                method,
                path,
                headers=headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                **kwargs,
            )
        except httpx.HTTPError as error:  # transport errors, timeouts
            raise Unavailable(f"{method} {path}: {type(error).__name__}: {error}") from None
        _raise_for(response, method, path)
        return response

    def register(self, body: dict[str, Any]) -> dict[str, Any]:
        return _json(self._call("POST", "/agent/v1/register", json=body))

    def heartbeat(self, body: dict[str, Any]) -> dict[str, Any]:
        return _json(self._call("POST", "/agent/v1/heartbeat", json=body))

    def next_actions(self, wait: float) -> list[dict[str, Any]]:
        response = self._call("GET", "/agent/v1/actions/next", params={"wait": int(wait)}, timeout=wait + 15)
        actions = response.json().get("actions", [])
        return actions if isinstance(actions, list) else []

    def progress(self, action_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return _json(self._call("POST", f"/agent/v1/actions/{quote(action_id, safe='')}/progress", json=body))

    def result(self, action_id: str, body: dict[str, Any]) -> None:
        self._call("POST", f"/agent/v1/actions/{quote(action_id, safe='')}/result", json=body)

    def refusal(self, action_id: str, body: dict[str, Any]) -> None:
        self._call("POST", f"/agent/v1/actions/{quote(action_id, safe='')}/refusal", json=body)

    def upload_artifact(self, action_id: str, path: Path, sha256: str) -> None:
        with open(path, "rb") as handle:
            self._call(
                "PUT",
                f"/agent/v1/actions/{quote(action_id, safe='')}/artifact",
                content=handle.read(),
                headers={"X-Content-SHA256": sha256, "Content-Type": "application/gzip"},
                timeout=300,
            )

    def download_file(self, sha256: str, out: BinaryIO, max_bytes: int) -> tuple[str, int]:
        """Stream /agent/v1/files/<sha256> into `out`; return (sha256 of what arrived, its size).
        Stops as soon as more than `max_bytes` arrived (the caller then sees a size mismatch)."""
        digest = hashlib.sha256()
        size = 0
        try:
            with self._client().stream(
                "GET", f"/agent/v1/files/{sha256}", headers=self._headers(), timeout=httpx.Timeout(300.0, connect=10.0)
            ) as response:
                if response.status_code >= 300:
                    response.read()
                    _raise_for(response, "GET", f"/agent/v1/files/{sha256}")
                for chunk in response.iter_bytes(1 << 16):
                    size += len(chunk)
                    if size > max_bytes:
                        break
                    digest.update(chunk)
                    out.write(chunk)
        except httpx.HTTPError as error:
            raise Unavailable(f"GET /agent/v1/files/{sha256}: {type(error).__name__}: {error}") from None
        return digest.hexdigest(), size


def _json(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    return body


def _raise_for(response: httpx.Response, method: str, path: str) -> None:
    status = response.status_code
    if status < 300:
        return
    if status >= 500 or status == 429:
        raise Unavailable(f"{method} {path}: HTTP {status}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    if not isinstance(error, dict):
        error = {}
    code = str(error.get("code") or f"HTTP_{status}")
    message = str(error.get("message") or response.text[:200])
    if status == 401 and code in (REVOKED, CREDENTIAL_INVALID):
        raise CredentialRejected(status, code, message)
    if status == 403 and code == TENANT_DISABLED:
        raise TenantDisabled(f"{method} {path}: the control plane refuses this agent while its tenant is disabled")
    raise ApiError(status, code, message)
