"""A stand-in for the control plane's /agent/v1/ endpoints, for the agent's own tests.

It signs actions with a real Ed25519 key exactly as docs/AGENT_PROTOCOL.md says, records what the agent
sends, and can be told to answer 503 (a control plane that is down or restarting). The integration
tests in test_integration.py use the real control plane instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from agent.verify import canonical


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Signer:
    def __init__(self, key_id: str = "k1", key: Ed25519PrivateKey | None = None) -> None:
        self.key_id = key_id
        self.key = key or Ed25519PrivateKey.generate()

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()

    def action(
        self,
        agent_id: str,
        type_: str,
        params: dict[str, Any] | None = None,
        *,
        action_id: str | None = None,
        nonce: str | None = None,
        expires_in: float = 300,
        issued_at: datetime | None = None,
    ) -> dict[str, Any]:
        now = issued_at or datetime.now(UTC)
        return {
            "id": action_id or str(uuid.uuid4()),
            "agent_id": agent_id,
            "type": type_,
            "params": params or {},
            "nonce": nonce or base64.b64encode(os.urandom(16)).decode(),
            "issued_at": iso(now),
            "expires_at": iso(now + timedelta(seconds=expires_in)),
            "key_id": self.key_id,
        }

    def envelope(self, action: dict[str, Any]) -> dict[str, Any]:
        return {"action": action, "signature": base64.b64encode(self.key.sign(canonical(action))).decode()}


class FakeControlPlane(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.signer = Signer()
        self.tokens = {"stbt_good"}
        self.agent_id = "agent-1"
        self.credential = "stag_agent-1_secret"
        self.lock = threading.Condition()
        self.queue: list[dict[str, Any]] = []
        self.registrations: list[dict[str, Any]] = []
        self.heartbeats: list[dict[str, Any]] = []
        self.progress: dict[str, list[dict[str, Any]]] = {}
        self.results: dict[str, list[dict[str, Any]]] = {}
        self.refusals: dict[str, list[dict[str, Any]]] = {}
        self.artifacts: dict[str, bytes] = {}
        self.files: dict[str, bytes] = {}
        self.cancel: set[str] = set()
        self.down = False  # answer 503 to everything
        self.results_down = False  # answer 503 to results only
        self.refused_results = 0  # results answered 503 while results_down
        self.revoked = False
        self.tenant_disabled = False  # answer 403 TENANT_DISABLED to every authenticated request
        self.disabled_refusals: list[str] = []  # the paths refused so
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # an agent killed mid-poll leaves a broken pipe; that is part of the tests, not an error

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> FakeControlPlane:
        self.thread.start()
        return self

    def close(self) -> None:
        self.shutdown()
        self.server_close()

    def send(self, type_: str, params: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        action = self.signer.action(self.agent_id, type_, params, **kwargs)
        self.push(self.signer.envelope(action))
        return action

    def push(self, envelope: dict[str, Any]) -> None:
        with self.lock:
            self.queue.append(envelope)
            self.lock.notify_all()

    def wait_for(self, what: str, action_id: str, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not getattr(self, what).get(action_id):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {what} for {action_id} in {timeout} s")
                self.lock.wait(remaining)
            return list(getattr(self, what)[action_id])

    def add_file(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self.files[sha] = data
        return sha


class _Handler(BaseHTTPRequestHandler):
    server: FakeControlPlane

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any = None, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str = "") -> None:
        self._answer(status, {"code": code, "message": message or code, "field": None})

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _authorized(self) -> bool:
        cp = self.server
        if self.headers.get("Authorization") != f"Agent {cp.credential}":
            self._error(401, "AGENT_CREDENTIAL_INVALID")
            return False
        if cp.revoked:
            self._error(401, "AGENT_REVOKED")
            return False
        if cp.tenant_disabled:
            with cp.lock:
                cp.disabled_refusals.append(urlsplit(self.path).path)
                cp.lock.notify_all()
            self._error(403, "TENANT_DISABLED")
            return False
        return True

    def do_GET(self) -> None:
        cp = self.server
        parts = urlsplit(self.path)
        if cp.down:
            self._body()
            return self._error(503, "UNAVAILABLE")
        if not self._authorized():
            return None
        if parts.path == "/agent/v1/actions/next":
            wait = float(parse_qs(parts.query).get("wait", ["1"])[0])
            deadline = time.monotonic() + wait
            with cp.lock:
                while not cp.queue and time.monotonic() < deadline and not cp.down:
                    cp.lock.wait(min(0.2, max(0.0, deadline - time.monotonic())))
                actions, cp.queue = cp.queue, []
            return self._answer(200, {"actions": actions})
        if parts.path.startswith("/agent/v1/files/"):
            sha = parts.path.rsplit("/", 1)[1]
            if sha not in cp.files:
                return self._error(404, "AGENT_FILE_NOT_FOUND")
            return self._answer(200, raw=cp.files[sha])
        return self._error(404, "NOT_FOUND")

    def do_PUT(self) -> None:
        cp = self.server
        data = self._body()
        if cp.down:
            return self._error(503, "UNAVAILABLE")
        if not self._authorized():
            return None
        action_id = self.path.split("/")[4]
        if hashlib.sha256(data).hexdigest() != self.headers.get("X-Content-SHA256"):
            return self._error(400, "AGENT_ARTIFACT_CHECKSUM_MISMATCH")
        with cp.lock:
            cp.artifacts[action_id] = data
            cp.lock.notify_all()
        return self._answer(200, {})

    def do_POST(self) -> None:
        cp = self.server
        raw = self._body()
        if cp.down:
            return self._error(503, "UNAVAILABLE")
        body = json.loads(raw or b"{}")
        path = urlsplit(self.path).path
        if path == "/agent/v1/register":
            if body.get("bootstrap_token") not in cp.tokens:
                return self._error(401, "AGENT_BOOTSTRAP_TOKEN_INVALID")
            cp.tokens.discard(body["bootstrap_token"])
            with cp.lock:
                cp.registrations.append(body)
                cp.lock.notify_all()
            return self._answer(
                201,
                {
                    "agent_id": cp.agent_id,
                    "credential": cp.credential,
                    "signing_key": {"key_id": cp.signer.key_id, "public_key": cp.signer.public_b64},
                    "heartbeat_interval_seconds": 1,
                    "poll_timeout_seconds": 25,
                },
            )
        if not self._authorized():
            return None
        if path == "/agent/v1/heartbeat":
            with cp.lock:
                cp.heartbeats.append(body)
                cp.lock.notify_all()
            return self._answer(200, {"server_time": iso(datetime.now(UTC)), "heartbeat_interval_seconds": 1})
        segments = path.split("/")
        if len(segments) == 6 and segments[3] == "actions":
            action_id, what = segments[4], segments[5]
            if what == "progress":
                with cp.lock:
                    cp.progress.setdefault(action_id, []).append(body)
                    cp.lock.notify_all()
                return self._answer(200, {"cancel": action_id in cp.cancel})
            if what in ("result", "refusal"):
                if what == "result" and cp.results_down:
                    with cp.lock:
                        cp.refused_results += 1
                    return self._error(503, "UNAVAILABLE")
                with cp.lock:
                    (cp.results if what == "result" else cp.refusals).setdefault(action_id, []).append(body)
                    cp.lock.notify_all()
                return self._answer(200, {})
        return self._error(404, "NOT_FOUND")
