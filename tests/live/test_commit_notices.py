"""The append side of the Redis wake-ups: every commit is announced, even one whose position is lower than an
earlier announcement (a database restored, or emptied between tests): "only when higher" went silent then."""

from __future__ import annotations

import redis

from controlplane.live.commit_notices import Announcer, channel_name
from tests.live.servers import RedisServer
from tests.waiting import wait_until


def _next_notice(pubsub: redis.client.PubSub, deadline: float = 20.0) -> str:
    def notice() -> str | None:
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)  # blocks up to 0.5 s
        return message["data"].decode() if message and message["type"] == "message" else None

    return wait_until(notice, timeout=deadline, interval=0, message="a commit notice")


def test_every_commit_is_announced_even_below_an_earlier_position(tmp_path):
    server = RedisServer(tmp_path / "redis")
    try:
        pubsub = redis.Redis.from_url(server.url).pubsub()
        pubsub.subscribe(channel_name())
        announce = Announcer(server.url)
        announce(5000)
        assert _next_notice(pubsub) == "5000"
        announce(7)  # the log starts again lower down
        assert _next_notice(pubsub) == "7"
        pubsub.close()
    finally:
        server.stop()
