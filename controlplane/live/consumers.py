"""The websocket consumers: authenticate, authorize, join the hub, send what was missed, then follow.

Clients send nothing (anything they send is ignored). Every message is one event (messages.py); a client
keeps the ``position`` of the last one and reconnects with ``?after=<position>`` to get exactly what it
missed, then live messages, with no gap and no duplicate at the seam:

1. join the hub first, which returns the horizon H (its last delivered position); from then on every
   matching event above H is queued for this client;
2. send the missed events in (after, H] from the log (history.py);
3. send the queued ones, skipping any at or below the last position sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from controlplane.live import admission, history
from controlplane.live.admission import Principal, Refused
from controlplane.live.hub import Lagged, Subscriber, hub
from controlplane.live.messages import render
from controlplane.live.topics import Topic

log = logging.getLogger(__name__)

JOIN_TIMEOUT = 30.0  # seconds for the process's tailer to find its start in the log
REAUTHORIZE_SECONDS = 60.0  # how often an open socket's credential and permission are checked again


def parse_after(scope: dict[str, Any]) -> int | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    values = query.get("after")
    if not values:
        return None
    try:
        after = int(values[-1])
    except ValueError:
        raise Refused(admission.BAD_REQUEST, "after must be a position (a non-negative integer)") from None
    if after < 0:
        raise Refused(admission.BAD_REQUEST, "after must be a position (a non-negative integer)")
    return after


class LiveConsumer(AsyncWebsocketConsumer):
    # Live sockets never use the channel layer (the hub feeds them in-process): no per-socket channel.
    channel_layer_alias = "controlplane-live-uses-no-channel-layer"
    subscriber: Subscriber | None = None
    pump: asyncio.Task | None = None
    guard: asyncio.Task | None = None
    expiry: asyncio.TimerHandle | None = None

    resource_type = ""  # what the socket follows, for the audit record of a refusal

    def topic(self, principal: Principal) -> Topic:
        raise NotImplementedError

    def _authorize(self, after: int | None) -> tuple[Principal, Topic]:
        principal = admission.authenticate(self.scope)
        try:
            topic = self.topic(principal)
        except Refused as refusal:
            admission.audit_refusal(self.scope, principal, refusal, self.resource_type)
            raise
        if after is not None and after > history.head():
            raise Refused(admission.BAD_REQUEST, "after is beyond the end of the log")
        return principal, topic

    def _check(self, scope: dict[str, Any]) -> tuple[Principal, Topic]:
        principal = admission.authenticate(scope)
        return principal, self.topic(principal)

    async def _reauthorize_forever(self, principal: Principal, topic: Topic) -> None:
        """Every REAUTHORIZE_SECONDS, ask again: a revoked token, a disabled user or tenant, a logout or a
        withdrawn role closes the socket with the code a new connection would get."""
        try:
            while True:
                await asyncio.sleep(REAUTHORIZE_SECONDS)
                scope = self.scope
                if principal.token is None and principal.expires_at is None:  # the session's user
                    user = await admission.session_user(scope)
                    if user is None or user.pk != principal.user.pk:
                        raise Refused(admission.UNAUTHENTICATED, "the session has ended")
                    scope = {**scope, "user": user}
                _, fresh = await database_sync_to_async(self._check)(scope)
                topic.refresh(fresh)
        except Refused as refusal:
            await self.close(code=refusal.code, reason=refusal.reason[:120])

    async def connect(self) -> None:
        offered = self.scope.get("subprotocols") or []
        protocol = admission.PROTOCOL if admission.PROTOCOL in offered else None
        try:
            after = parse_after(self.scope)
            principal, topic = await database_sync_to_async(self._authorize)(after)
        except Refused as refusal:
            # Accepted only to say why in the close code (a refused handshake is a bare HTTP 403).
            await self.accept(protocol)
            await self.close(code=refusal.code, reason=refusal.reason[:120])
            return
        # Join before accepting: every event committed after the client sees the handshake complete reaches it.
        subscriber = Subscriber(topic)
        try:
            horizon = await asyncio.wait_for(hub().join(subscriber), JOIN_TIMEOUT)
        except TimeoutError:  # the tailer cannot start (database unreachable): say so rather than hang
            await self.accept(protocol)
            await self.close(code=admission.TRY_AGAIN_LATER, reason="the event log cannot be read now")
            return
        self.subscriber = subscriber
        await self.accept(protocol)
        if principal.expires_at is not None:
            delay = max(principal.expires_at - time.time(), 0)
            self.expiry = asyncio.get_running_loop().call_later(
                delay, lambda: asyncio.ensure_future(self.close(code=admission.UNAUTHENTICATED, reason="token expired"))
            )
        self.pump = asyncio.create_task(self._pump(topic, after, horizon))
        self.guard = asyncio.create_task(self._reauthorize_forever(principal, topic))

    async def _pump(self, topic: Topic, after: int | None, horizon: int) -> None:
        assert self.subscriber is not None
        try:
            await database_sync_to_async(topic.prepare)()
            last = horizon
            if after is not None:
                cursor = after
                while cursor < horizon:
                    events, cursor = await database_sync_to_async(history.missed)(topic, cursor, horizon)
                    for event in events:
                        if topic.match(event):
                            await self.send(text_data=render(event))
                last = max(after, horizon)
            while True:
                for event, text in await self.subscriber.take():
                    if event.position > last:
                        last = event.position
                        if topic.match(event):
                            await self.send(text_data=text)
        except Lagged:
            await self.close(code=admission.LAGGING, reason="too slow: reconnect with ?after=<last position>")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("live: %s failed", topic.name)
            await self.close(code=1011)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return None  # clients have nothing to say; the position they resume from goes in the URL

    async def disconnect(self, code: int) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
        if self.subscriber is not None:
            hub().leave(self.subscriber)
            self.subscriber = None
        for task in (self.pump, self.guard):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


class RunConsumer(LiveConsumer):
    resource_type = "run"

    def topic(self, principal: Principal) -> Topic:
        return admission.run_topic(principal, self.scope["url_route"]["kwargs"]["run_id"])


class ActivityConsumer(LiveConsumer):
    resource_type = "tenant_activity"

    def topic(self, principal: Principal) -> Topic:
        return admission.activity_topic(principal, self.scope["url_route"]["kwargs"]["tenant"])


class OperationConsumer(LiveConsumer):
    resource_type = "operation"

    def topic(self, principal: Principal) -> Topic:
        return admission.operation_topic(principal, self.scope["url_route"]["kwargs"]["operation_id"])


class NoSuchEndpoint(AsyncWebsocketConsumer):
    channel_layer_alias = LiveConsumer.channel_layer_alias

    async def connect(self) -> None:
        offered = self.scope.get("subprotocols") or []
        await self.accept(admission.PROTOCOL if admission.PROTOCOL in offered else None)
        await self.close(code=admission.NOT_FOUND, reason="no such endpoint")
