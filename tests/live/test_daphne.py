"""Live progress through a real daphne process and a real websocket client (the ``websockets`` package).

A client follows a run while events are appended to it; it drops the connection twice mid-stream and
reconnects with the last position it saw. It must receive every event exactly once, in order. Run on the
embedded path (the tailer polls) and with Redis (wake-up notices; the poll is set to a minute there, so
the test passes only if the notices really wake the tailer).
"""

from __future__ import annotations

import threading

import pytest
from django.conf import settings

from controlplane.live import commit_notices
from tests.live.servers import Daphne, Follower, RedisServer
from tests.live.world import append_to_run, build
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = 240
DROPS_AFTER = (60, 150)  # the client drops the connection after this many messages in total
WAIT = 30  # seconds without a message before the client gives up (a failure, not a timing assertion)


@pytest.fixture(params=["embedded", "redis"])
def server(request, tmp_path):
    redis = None
    redis_url = None
    if request.param == "redis":
        redis_url = settings.REDIS_URL
        if not redis_url:  # the embedded test run: a redis-server of our own
            redis = RedisServer(tmp_path / "redis")
            redis_url = redis.url
        commit_notices.install(redis_url)  # this process appends: it announces its commits
    daphne = Daphne(redis_url=redis_url, poll_ms=60_000 if redis_url else None)
    try:
        yield daphne
    finally:
        daphne.stop()
        if redis_url and not settings.REDIS_URL:
            commit_notices.uninstall()
        if redis is not None:
            redis.stop()


def test_a_client_that_drops_and_resumes_gets_every_event_once_in_order(server):
    world = build()
    follower = Follower(
        server.url(f"/ws/v1/runs/{world.runs['acme']}/"), world.tokens["viewer"], want=EVENTS, drops_after=DROPS_AFTER
    )
    follower.start()
    assert follower.connected.wait(WAIT), server.output()
    appended: list[int] = []
    for n in range(EVENTS):
        appended += append_to_run(world, 1, "acme", n)
        if n % 10 == 0:  # a live stream rather than one burst: the follower is at most ten behind
            behind = len(appended) - 10
            wait_until(
                lambda behind=behind: len(follower.received) >= behind or follower.error,
                timeout=WAIT,
                message=lambda: f"the follower within ten events:\n{server.output()}",
            )
    follower.join(WAIT * 3)
    assert not follower.is_alive(), f"{len(follower.received)} of {EVENTS} received\n{server.output()}"
    assert follower.error is None, f"{follower.error!r}\n{server.output()}"
    assert follower.connections == len(DROPS_AFTER) + 1
    assert [m["position"] for m in follower.received] == appended
    assert [m["data"]["n"] for m in follower.received] == list(range(EVENTS))
    # Nothing beyond: a last event is the very next message of a fresh connection resuming at the end.
    follower.want = EVENTS + 1
    follower.connected.clear()
    resumed = threading.Thread(target=follower.run, daemon=True)
    resumed.start()
    assert follower.connected.wait(WAIT)
    (marker,) = append_to_run(world, 1, "acme", 9999)
    resumed.join(WAIT)
    assert follower.error is None, repr(follower.error)
    assert [m["position"] for m in follower.received[EVENTS:]] == [marker]
