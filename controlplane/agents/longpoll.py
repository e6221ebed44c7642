"""``GET /agent/v1/actions/next?wait=<seconds>``: the long poll, as a bare ASGI app in front of Django
(controlplane/asgi.py routes the path here). Django's middleware stack is synchronous, so a Django async view
behind it would still block a thread for the whole wait; here a waiting poll is only an ``asyncio.Event``
(``wakeup.py``) and the database is touched in short calls on the shared executor
(docs/adr/0010-agent-long-poll.md)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import SyncToAsync
from django.db import close_old_connections

from controlplane.agents import actions, wakeup
from controlplane.agents.agent_api import credential_of, error_body
from controlplane.agents.models import Action
from controlplane.errors import DomainError

log = logging.getLogger(__name__)

PATH = "/agent/v1/actions/next"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _db(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run ``fn`` on the shared executor (not a thread of its own per request), with Django's connection
    hygiene around it as a request would have."""

    def call(*args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return SyncToAsync(call, thread_sensitive=False)


def agents_with_work(agent_ids: list[str]) -> set[str]:
    """Of these agents, those with a queued action (one query for every waiting poll of the process)."""
    return set(
        Action.unscoped.filter(agent_id__in=agent_ids, state="PENDING").values_list("agent_id", flat=True).distinct()
    )


_authenticate = _db(actions.authenticate)
_claim = _db(actions.do_claim_actions)
_watch_check = agents_with_work


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    while True:  # drain the (empty) request body
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body"):
            break
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    request_id = headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
    if scope.get("method") != "GET":
        await _respond(send, 405, error_body("METHOD_NOT_ALLOWED", "use GET", request_id=request_id), request_id)
        return
    try:
        agent = await _authenticate(credential_of(headers.get("authorization", "")))
        wait = _wait_seconds(scope.get("query_string", b"").decode("latin-1"))
        deadline = time.monotonic() + wait
        while True:
            envelopes = await _claim(agent)
            remaining = deadline - time.monotonic()
            if envelopes or remaining <= 0:
                break
            await wakeup.wait(agent.id, remaining, _watch_check)
    except DomainError as exc:
        from controlplane.agents.agent_api import STATUS

        status = STATUS.get(exc.code, 400)
        extra = [(b"www-authenticate", b'Agent realm="agent"')] if status == 401 else []
        await _respond(send, status, error_body(exc.code, exc.message, request_id=request_id), request_id, extra)
        return
    await _respond(send, 200, {"actions": envelopes}, request_id)


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


def with_long_poll(django_app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> Callable:
    """The HTTP app of controlplane/asgi.py: the agents' long poll here, everything else to Django."""

    async def http(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("path") == PATH:
            await app(scope, receive, send)
        else:
            await django_app(scope, receive, send)

    return http
