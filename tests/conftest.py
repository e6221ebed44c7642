"""Shared fixtures. The database is whatever CONTROLPLANE_DATABASE_URL names (SQLite by default)."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from controlplane.eventlog.metadata import Actor, Metadata


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
    trigger refuses; TRUNCATE (which fires no trigger) empties the event table first."""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    if not transactional:
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up the database first, so we tear down before it
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
