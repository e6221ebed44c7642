"""A row-for-row fingerprint of every read model, to compare live projections with rebuilt ones."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from controlplane.eventlog import projectors
from controlplane.eventlog.models import Checkpoint
from controlplane.eventlog.projectors import Subscription
from controlplane.eventlog.reader import GlobalReader
from tests.waiting import wait_until

_triggers = importlib.import_module("controlplane.eventlog.migrations.0002_positions_and_immutability")
MYSQL_FORWARD, MYSQL_BACKWARD = _triggers.MYSQL_FORWARD, _triggers.MYSQL_BACKWARD


def read_model_fingerprint() -> dict[str, list[tuple]]:
    tables: dict[str, list[tuple]] = {}
    for projector in projectors.sync_projectors():
        for model in projector.read_models:
            fields = [f.attname for f in model._meta.concrete_fields]
            tables[model._meta.db_table] = list(model._base_manager.order_by("pk").values_list(*fields))
    return tables


@contextmanager
def immutability_triggers_disabled() -> Iterator[None]:
    """Let a test alter event rows by raw SQL, as someone with database access could; triggers come back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE eventlog_event DISABLE TRIGGER eventlog_event_immutable")
        elif connection.vendor == "mysql":
            for statement in MYSQL_BACKWARD:
                cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE eventlog_event ENABLE TRIGGER eventlog_event_immutable")
            elif connection.vendor == "mysql":
                for statement in MYSQL_FORWARD:
                    cursor.execute(statement)


def last_position() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(position), 0) FROM eventlog_event")
        return cursor.fetchone()[0]


def read_all(reader: GlobalReader | None = None, timeout: float = 10.0) -> list:
    """Poll the global order until everything committed so far is delivered.

    On PostgreSQL a poll may hold events back while other transactions (any database on the server)
    are in flight; a later poll delivers them, as a subscriber's next round would.
    """
    reader = reader or GlobalReader()
    target, seen = last_position(), []

    def caught_up() -> bool:
        if not seen or seen[-1].position < target:
            seen.extend(reader.poll(seen[-1].position if seen else 0))
        return not target or (bool(seen) and seen[-1].position >= target)

    wait_until(caught_up, timeout=timeout, interval=0.01, message=lambda: f"position {target}, read up to {seen[-1:]}")
    return seen


def drain(subscription: Subscription, timeout: float = 60.0) -> None:
    """Run a subscriber until its checkpoint reaches the end of the log. On PostgreSQL the reader waits past a gap
    until every transaction older than its marker has ended, and the server's snapshot lists every running
    transaction, the other xdist worker's test transaction (in its own database) included: that can take as
    long as the other worker's current test."""
    target = last_position()

    def caught_up() -> bool:
        subscription.run_until_idle()
        return Checkpoint.objects.get(name=subscription.name).position >= target

    wait_until(caught_up, timeout=timeout, interval=0.01, message=f"subscription {subscription.name} at {target}")
