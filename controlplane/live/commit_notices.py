"""Wake-up notices with Redis: "the log has committed events up to position N".

Every process that appends publishes, after commit, the highest position it committed on one Redis pub/sub
channel; each web process's tailer listens and polls the log at once. A notice carries no event and
nothing depends on it arriving: a lost notice (Redis down, a reconnect) only means the tailer finds the
events at its next poll. Publishing happens on a background thread that coalesces bursts (one PUBLISH for
many appends), so an append never waits for Redis.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time

from django.db import connections

log = logging.getLogger(__name__)


def channel_name(using: str = "default") -> str:
    """One channel per event log (database), so installations that share a Redis server do not wake each
    other (pub/sub channels ignore Redis database numbers). A collision would only cost a spare poll."""
    s = connections[using].settings_dict
    identity = f"{connections[using].vendor}|{s.get('HOST') or ''}|{s.get('PORT') or ''}|{s.get('NAME')}"
    return "controlplane.eventlog.committed." + hashlib.sha256(identity.encode()).hexdigest()[:16]


class Announcer:
    """The append path's commit listener: remembers the highest position and wakes the publisher thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pid = 0
        self._latest = 0
        self._pending = False
        self._cond = threading.Condition()
        self._channel = ""

    def __call__(self, position: int) -> None:
        if self._pid != os.getpid():
            self._start()  # first use in this process (a Celery pool child is a fork of its parent)
        with self._cond:
            # Every commit is announced, whatever positions came before: after a database is restored (or
            # emptied, as tests do) positions start lower again, and "only when higher" would go silent.
            self._latest = max(self._latest, position) if self._pending else position
            self._pending = True
            self._cond.notify()

    def _start(self) -> None:
        self._cond = threading.Condition()
        self._latest = 0
        self._pending = False
        self._pid = os.getpid()
        self._channel = channel_name()
        threading.Thread(target=self._publish_forever, name="live-announcer", daemon=True).start()

    def _publish_forever(self) -> None:
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                position, self._pending = self._latest, False
            try:
                client.publish(self._channel, str(position))
            except redis.RedisError as exc:
                log.warning("live: wake-up notice not published (%s); tailers fall back to polling", exc)
                time.sleep(1)


_installed: Announcer | None = None


def install(url: str) -> Announcer:
    """Announce every commit of this process on Redis (called once, from the app's ready())."""
    global _installed
    from controlplane.eventlog import store

    if _installed is None:
        _installed = Announcer(url)
        store.on_committed(_installed)
    return _installed


def uninstall() -> None:
    global _installed
    from controlplane.eventlog import store

    if _installed is not None:
        store.remove_commit_listener(_installed)
        _installed = None
