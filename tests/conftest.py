"""Shared fixtures. The database is whatever CONTROLPLANE_DATABASE_URL names (SQLite by default)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from controlplane.eventlog.metadata import Actor, Metadata

# fails a test named in tests/event_coverage.py that did not produce the event types mapped to it
pytest_plugins = ["tests.event_recording"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """pytest-django's test database; before it is dropped, the sessions other threads left on it are ended:
    PostgreSQL refuses to drop a database that has any ("is being accessed by other users", a warning at the end of
    every PostgreSQL run). Threads that outlive a test keep their connections (the agents' long-poll executor does by
    design, ADR 0010) and nothing closes them before the drop."""
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def vendor() -> str:
    return connection.vendor


@pytest.fixture
def meta() -> Metadata:
    return Metadata(
        tenant_id="t-test",
        workspace_id="w-test",
        actor=Actor(kind="user", id="alice"),
        request_id="req-1",
        correlation_id="corr-1",
        client_address="127.0.0.1",
    )


@pytest.fixture(autouse=True)
def _events_truncated_before_flush(request: pytest.FixtureRequest):
    """MariaDB: Django empties tables after a transactional test with DELETE, which the immutability
    trigger refuses; TRUNCATE (which fires no trigger) empties the event table first. Before the test, the
    position counter's row is put back (a flush removed it)."""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    if not transactional:
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up the database first, so we tear down before it
    if connection.vendor == "mysql":
        # The migration creates the position counter's row; an earlier test's flush emptied the table. Put it back
        # before the test, as on a migrated database: lazily creating it from concurrent writers races (a duplicate
        # key, or a deadlock between their gap locks), which production never sees.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT IGNORE INTO eventlog_position_counter (id, last_position) "
                "SELECT 1, COALESCE(MAX(position), 0) FROM eventlog_event"
            )
    yield
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE TABLE eventlog_event")


_TEST_MASTER_KEY = os.urandom(32)


@pytest.fixture(autouse=True)
def master_keys():
    """A throwaway master key for every test: never the configured or generated one. (On server
    databases nothing is generated: without this, creating a secret fails with SECRETS_KEY_MISSING.)"""
    from controlplane.secrets import keys
    from controlplane.secrets.keys import LocalKeyProvider

    with keys.using_provider(LocalKeyProvider([("test", _TEST_MASTER_KEY)])) as provider:
        yield provider


@pytest.fixture(autouse=True, scope="session")
def _cache_per_worker(worker_id: str):
    """With Redis, each xdist worker gets a Redis database of its own for Django's cache: a test's cache.clear()
    (FLUSHDB) or its counters (login throttling, rate limits) never reach a test running in the other worker."""
    from django.conf import settings
    from django.test.utils import override_settings

    default = settings.CACHES["default"]
    if "RedisCache" not in default["BACKEND"] or not worker_id.startswith("gw"):
        yield
        return
    database = 8 + int(worker_id.removeprefix("gw"))  # away from db 0 (broker, live wake-ups)
    location = urlunsplit(urlsplit(default["LOCATION"])._replace(path=f"/{database}"))
    with override_settings(CACHES={"default": {**default, "LOCATION": location}}):
        yield


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Tests hash passwords with MD5: Django's PBKDF2 costs about half a CPU second per hash and per check, and
    logins, throttling and invitations hash on every attempt. PBKDF2 stays listed, so a hash made by the product's
    own settings (a seeded database, a subprocess) still verifies. Nothing tests the hasher itself."""
    from django.conf import settings
    from django.test.utils import override_settings

    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    with override_settings(PASSWORD_HASHERS=hashers):
        yield
