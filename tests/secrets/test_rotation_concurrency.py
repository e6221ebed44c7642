"""Rotation without downtime: writers update, reveal and delete while ``rotate_keys`` works in batches.

Committed transactions and real threads; runs on whatever database the suite runs on (SQLite here,
PostgreSQL and MariaDB in `make test-matrix`).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from controlplane.eventlog.errors import ConcurrencyConflict
from controlplane.eventlog.metadata import Metadata
from controlplane.secrets import keys
from controlplane.secrets.actions import (
    do_create_secret,
    do_delete_secret,
    do_reveal_secret,
    do_rotate_keys,
    do_update_secret,
)
from controlplane.secrets.keys import LocalKeyProvider
from controlplane.secrets.models import Secret, SecretVersion
from tests.secrets.conftest import K1, K2

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 3
PER_WRITER = 4
ROUNDS = 4


def _retrying(call):  # type: ignore[no-untyped-def]
    while True:
        try:
            return call()
        except ConcurrencyConflict:
            continue


def _writer(place, ids: list[str], last: dict[str, str], errors: list[BaseException]) -> None:
    try:
        for n in range(ROUNDS):
            for secret_id in ids:
                if n == ROUNDS - 1 and secret_id == ids[0]:
                    _retrying(lambda s=secret_id: do_delete_secret(metadata=place.meta, secret_id=s))
                    last.pop(secret_id)
                    continue
                value = f"{secret_id}-round-{n}"
                _retrying(lambda s=secret_id, v=value: do_update_secret(metadata=place.meta, secret_id=s, value=v))
                last[secret_id] = value
                seen = _retrying(lambda s=secret_id: do_reveal_secret(metadata=place.meta, secret_id=s))
                assert seen == value
    except BaseException as exc:
        errors.append(exc)
    finally:
        connections.close_all()


def test_writers_keep_working_while_keys_rotate(acme):
    groups: list[list[str]] = []
    last: dict[str, str] = {}
    for w in range(WRITERS):
        ids = []
        for i in range(PER_WRITER):
            value = f"initial-{w}-{i}"
            ids.append(
                do_create_secret(
                    metadata=acme.meta,
                    tenant_id=acme.tenant_id,
                    workspace_id=acme.workspace_id,
                    name=f"s{w}-{i}",
                    value=value,
                )
            )
            last[ids[-1]] = value
        groups.append(ids)

    errors: list[BaseException] = []
    rotated: list[int] = []

    def rotate() -> None:
        try:
            rotated.append(do_rotate_keys(metadata=Metadata.for_system(None, reason="tests"), batch_size=2))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    with keys.using_provider(LocalKeyProvider([("k2", K2), ("k1", K1)])):
        threads = [threading.Thread(target=_writer, args=(acme, ids, last, errors)) for ids in groups]
        threads.append(threading.Thread(target=rotate))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        do_rotate_keys(metadata=Metadata.for_system(None, reason="tests"))  # whatever the writers' k1 rows left behind

    assert set(SecretVersion.objects.values_list("kek_id", flat=True)) == {"k2"}
    assert Secret.unscoped.filter(deleted=True).count() == WRITERS
    with keys.using_provider(LocalKeyProvider([("k2", K2)])):
        for secret_id, value in last.items():
            assert do_reveal_secret(metadata=acme.meta, secret_id=secret_id) == value
