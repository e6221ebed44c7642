"""The agents' two frequent requests, answered by a bare ASGI app in front of Django (controlplane/asgi.py):

- ``GET /agent/v1/actions/next?wait=<seconds>``, the long poll. Django's middleware stack is synchronous, so a
  Django async view behind it would still block a thread for the whole wait; here a waiting poll is only an
  ``asyncio.Event`` (``wakeup.py``).
- ``POST /agent/v1/heartbeat``. Under ASGI Django runs each request's sync code on a thread of its own, so
  every request would open a database connection of its own; here the work runs in one hop on the shared
  executor, whose few threads keep their connections (CONN_MAX_AGE).

Both touch the database only in short calls on that executor (docs/adr/0010-agent-long-poll.md). Every other
agent request goes to Django (``agent_api.py``)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import SyncToAsync
from django.db import DatabaseError, close_old_connections

from controlplane.agents import actions, selectors, wakeup
from controlplane.agents.agent_api import MAX_JSON_BYTES, STATUS, credential_of, error_body, record_heartbeat
from controlplane.errors import DomainError

log = logging.getLogger(__name__)

_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # as controlplane.api.middleware takes X-Request-ID

PATH = "/agent/v1/actions/next"
HEARTBEAT_PATH = "/agent/v1/heartbeat"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


# The threads that run the agents' database calls: few, so each keeps its connection and they do not fight
# over the GIL (measured: more threads absorb fewer heartbeats a second under load, tests/benchmarks/heartbeats.py).
DB_THREADS = 2
_executor = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="agents-db")


_hygiene = threading.local()
HYGIENE_SECONDS = 5.0


def _db(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run ``fn`` on the agents' small executor (never a thread of its own per request), with Django's
    connection hygiene (drop a broken or too old connection) every few seconds per thread and after any
    database error. Per call it would cost a health-check query each time (CONN_HEALTH_CHECKS)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        now = time.monotonic()
        if now - getattr(_hygiene, "at", 0.0) > HYGIENE_SECONDS:
            close_old_connections()
            _hygiene.at = now
        try:
            return fn(*args, **kwargs)
        except DatabaseError:
            close_old_connections()
            _hygiene.at = 0.0
            raise

    return SyncToAsync(call, thread_sensitive=False, executor=_executor)


def authenticate_and_claim(credential: str, request_id: str = "") -> tuple[selectors.AuthenticatedAgent, list[dict]]:
    agent = selectors.authenticated_agent_for_system(credential)
    return agent, claim(agent, request_id)


def claim(agent: selectors.AuthenticatedAgent, request_id: str) -> list[dict]:
    return actions.do_claim_actions(metadata=agent.metadata(request_id), agent=agent)


_authenticate_and_claim = _db(authenticate_and_claim)
_heartbeat = _db(record_heartbeat)
_claim = _db(claim)


_watch_check = _db(selectors.agents_with_work_for_system)


async def _body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None when the client left or it is larger than ``limit``."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _request_id(headers: dict[str, str]) -> str:
    incoming = headers.get("x-request-id", "")
    return incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


async def heartbeat_app(scope: Scope, receive: Receive, send: Send) -> None:
    headers = _headers(scope)
    request_id = _request_id(headers)
    raw = await _body(receive, MAX_JSON_BYTES)
    if scope.get("method") != "POST":
        await _respond(send, 405, error_body("METHOD_NOT_ALLOWED", "use POST", request_id=request_id), request_id)
        return
    if raw is None:
        message = f"the request body is larger than {MAX_JSON_BYTES} bytes"
        await _respond(send, 413, error_body("REQUEST_TOO_LARGE", message, request_id=request_id), request_id)
        return
    try:
        answer = await _heartbeat(headers.get("authorization", ""), raw, request_id)
    except DomainError as exc:
        await _error(send, exc, request_id)
        return
    except Exception:  # answered in JSON like every other error of the agent API, never the server's HTML 500
        log.exception("heartbeat failed (request %s)", request_id)
        await _respond(send, 500, error_body("INTERNAL_ERROR", "internal error", request_id=request_id), request_id)
        return
    await _respond(send, 200, answer, request_id)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    headers = _headers(scope)
    request_id = _request_id(headers)
    if await _body(receive, MAX_JSON_BYTES) is None:  # a GET has none; drain it
        return  # the agent already left
    if scope.get("method") != "GET":
        await _respond(send, 405, error_body("METHOD_NOT_ALLOWED", "use GET", request_id=request_id), request_id)
        return
    left = asyncio.Event()
    watcher = None
    try:
        wait = _wait_seconds(scope.get("query_string", b"").decode("latin-1"))
        agent, envelopes = await _authenticate_and_claim(credential_of(headers.get("authorization", "")), request_id)
        watcher = asyncio.ensure_future(_watch_disconnect(receive, agent.id, left))
        deadline = time.monotonic() + wait
        while not envelopes:
            remaining = deadline - time.monotonic()
            # Not woken before the deadline: nothing was queued (or it was in the last half second, and the
            # agent's next poll claims it at once). Claiming again here would only cost a query.
            if remaining <= 0 or not await wakeup.wait(agent.id, remaining, _watch_check):
                break
            if left.is_set():
                log.debug("agent %s left its poll: nothing claimed", agent.id)
                return  # claiming now would hand the action to a closed connection (redelivered only later)
            envelopes = await _claim(agent, request_id)
    except DomainError as exc:
        await _error(send, exc, request_id)
        return
    finally:
        if watcher is not None:
            watcher.cancel()
    await _respond(send, 200, {"actions": envelopes}, request_id)


async def _watch_disconnect(receive: Receive, agent_id: str, left: asyncio.Event) -> None:
    """Mark the poll as abandoned when the agent closes the connection, and wake it so it ends now."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            left.set()
            wakeup.notify(agent_id)
            return


async def _error(send: Send, exc: DomainError, request_id: str) -> None:
    status = STATUS.get(exc.code, 404 if exc.code.endswith("_NOT_FOUND") else 400)
    extra = [(b"www-authenticate", b'Agent realm="agent"')] if status == 401 else []
    field = exc.details.get("field") if isinstance(exc.details.get("field"), str) else None
    body = error_body(exc.code, exc.message, field=field, request_id=request_id)
    await _respond(send, status, body, request_id, extra)


def _wait_seconds(query: str) -> float:
    limit = actions.poll_timeout()
    raw = parse_qs(query).get("wait", [str(limit)])[0]
    try:
        wait = float(raw)
    except ValueError:
        raise DomainError("wait is a number of seconds", code="AGENT_REQUEST_INVALID", field="wait") from None
    return max(0.0, min(wait, float(limit)))


async def _respond(
    send: Send, status: int, body: dict, request_id: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"x-request-id", request_id.encode("latin-1")),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def with_agent_paths(django_app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> Callable:
    """The HTTP app of controlplane/asgi.py: the agents' long poll and heartbeat here, the rest to Django."""

    async def http(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if path == PATH:
            await app(scope, receive, send)
        elif path == HEARTBEAT_PATH:
            await heartbeat_app(scope, receive, send)
        else:
            await django_app(scope, receive, send)

    return http
