"""The tailer's start and a client that reads too slowly."""

from __future__ import annotations

import json
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection, connections, transaction

from controlplane.asgi import application
from controlplane.eventlog import store
from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.eventlog.reader import safe_head
from controlplane.eventlog.store import StreamRef
from controlplane.live import admission, hub
from tests.eventlog.events import ThingHappened
from tests.live.world import build, run_meta

pytestmark = pytest.mark.django_db(transaction=True)

META = Metadata(tenant_id="t-live", actor=Actor(kind="system", id="tests"))


def _append(stream: str, n: int = 1) -> int:
    return store.append(StreamRef("testing.thing", stream), store.stream_version(stream), [ThingHappened(n=n)], META)[
        -1
    ].position


def test_safe_head_waits_for_an_append_in_flight_below_the_highest_position():
    """A writer holds a lower position, uncommitted, while a later one commits: a tail started at the highest
    visible position would skip the first forever. safe_head returns only once the first has finished."""
    _append("warm-up")
    holding = threading.Event()
    release = threading.Event()

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                _append("slow")
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    writer = threading.Thread(target=slow_writer, daemon=True)
    writer.start()
    assert holding.wait(30)
    if connection.vendor != "postgresql":
        # SQLite (one writer at a time) and MariaDB (positions from a locked counter row): no later append can
        # commit past the slow one, so the highest visible position is final at once.
        release.set()
        writer.join(30)
        slow = store.read_stream("slow")[-1].position
        assert safe_head() == slow  # positions follow commit order here: the highest visible one is final
        return
    later = _append("fast")  # commits with a higher position than the slow writer's
    result: list[int] = []
    reader = threading.Thread(target=lambda: (result.append(safe_head()), connections.close_all()), daemon=True)
    reader.start()
    reader.join(0.5)
    assert reader.is_alive() and not result  # waiting for the slow writer, not answering past its gap
    release.set()
    writer.join(30)
    reader.join(30)
    assert result == [later]


def test_a_client_that_reads_too_slowly_is_told_to_resume_from_the_log(monkeypatch):
    world = build()
    monkeypatch.setattr(hub, "QUEUE_LIMIT", 5)
    stream = StreamRef(type="jobs.run", id=f"run-{world.runs['acme']}")

    def burst() -> list[int]:  # one commit of 20 events: one poll hands them all to the hub at once
        events = [ThingHappened(n=n) for n in range(20)]
        return [e.position for e in store.append(stream, store.stream_version(stream.id), events, run_meta(world))]

    async def main() -> None:
        protocols = [admission.PROTOCOL, f"bearer.{world.tokens['viewer']}"]
        communicator = WebsocketCommunicator(application, f"/ws/v1/runs/{world.runs['acme']}/", subprotocols=protocols)
        assert (await communicator.connect(timeout=20))[0]
        before = await database_sync_to_async(lambda: store.stream_version(stream.id))()
        positions = await database_sync_to_async(burst)()
        closed = await communicator.receive_output(timeout=20)
        assert closed == {"type": "websocket.close", "code": admission.LAGGING, "reason": closed.get("reason")}
        await communicator.disconnect()
        # the remedy works: resuming from before the burst gets all of it
        again = WebsocketCommunicator(
            application, f"/ws/v1/runs/{world.runs['acme']}/?after={positions[0] - 1}", subprotocols=protocols
        )
        assert (await again.connect(timeout=20))[0]
        got = [json.loads(await again.receive_from(timeout=20))["position"] for _ in positions]
        assert got == positions and before > 0
        await again.disconnect()

    async_to_sync(main)()
