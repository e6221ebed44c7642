"""After a full life cycle, no plaintext, data key or master key is anywhere in the database or the logs."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, connections

from controlplane.eventlog.metadata import Metadata
from controlplane.secrets import envelope, keys
from controlplane.secrets.actions import (
    do_create_secret,
    do_delete_secret,
    do_reveal_secret,
    do_rotate_keys,
    do_update_secret,
)
from controlplane.secrets.domain.errors import SecretsError
from controlplane.secrets.keys import LocalKeyProvider
from controlplane.secrets.models import SecretVersion
from controlplane.secrets.selectors import resolve_secret_refs
from tests.secrets.conftest import K1, K2

pytestmark = pytest.mark.django_db

PLAINTEXTS = [
    "Zebra-Quokka-7f3a9c-first",
    "Zebra-Quokka-7f3a9c-second",
    "Zebra-Quokka-7f3a9c-deleted",
    "Zebra-Quokka-7f3a9c-tampered-ünï",
]


def forms(secret: bytes) -> set[bytes]:
    """The secret as text, base64 (standard, URL-safe, unpadded), hex and JSON-escaped."""
    found = {secret, secret.hex().encode(), secret.hex().upper().encode()}
    for encoded in (base64.b64encode(secret), base64.urlsafe_b64encode(secret)):
        found |= {encoded, encoded.rstrip(b"=")}
    try:
        found.add(json.dumps(secret.decode("utf-8"))[1:-1].encode())
    except UnicodeDecodeError:
        pass
    return found


def as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8", "surrogatepass")


class SpyAESGCM:
    """envelope's AESGCM, recording every data key it generates."""

    real = envelope.AESGCM
    generated: list[bytes] = []

    def __init__(self, key: bytes) -> None:
        self._inner = self.real(key)

    @classmethod
    def generate_key(cls, bit_length: int) -> bytes:
        key = cls.real.generate_key(bit_length)
        cls.generated.append(key)
        return key

    def encrypt(self, *args):  # type: ignore[no-untyped-def]
        return self._inner.encrypt(*args)

    def decrypt(self, *args):  # type: ignore[no-untyped-def]
        return self._inner.decrypt(*args)


def scenario(acme, globex) -> list[str]:
    """Create, update, reveal, resolve, rotate (command and action), tamper, delete; returns error texts."""
    errors: list[str] = []
    first, second, deleted, tampered = PLAINTEXTS
    meta, tenant, workspace = acme.meta, acme.tenant_id, acme.workspace_id
    a = do_create_secret(metadata=meta, tenant_id=tenant, workspace_id=workspace, name="a", value=first)
    do_update_secret(metadata=meta, secret_id=a, value=second)
    b = do_create_secret(metadata=meta, tenant_id=tenant, workspace_id=workspace, name="b", value=deleted)
    t = do_create_secret(
        metadata=globex.meta, tenant_id=globex.tenant_id, workspace_id=globex.workspace_id, name="t", value=tampered
    )
    assert do_reveal_secret(metadata=meta, secret_id=a, version=1) == first
    assert resolve_secret_refs(tenant, workspace, ["a", "b"]) == {"a": second, "b": deleted}
    with keys.using_provider(LocalKeyProvider([("k2", K2), ("k1", K1)])):
        out = StringIO()
        call_command("rotate_keys", "--batch-size", "1", stdout=out)
        errors.append(out.getvalue())
        assert do_rotate_keys(metadata=Metadata.for_system(None, reason="tests")) == 0
    with keys.using_provider(LocalKeyProvider([("k2", K2)])):
        assert do_reveal_secret(metadata=meta, secret_id=a) == second
        do_delete_secret(metadata=meta, secret_id=b)
        row = SecretVersion.objects.get(secret_id=t)
        SecretVersion.objects.filter(pk=row.pk).update(ciphertext=bytes(row.ciphertext)[:-1] + b"\x00")
        for call in (
            lambda: do_reveal_secret(metadata=globex.meta, secret_id=t),
            lambda: resolve_secret_refs(globex.tenant_id, globex.workspace_id, ["t"]),
            lambda: do_update_secret(metadata=meta, secret_id=b, value=deleted),
            lambda: do_create_secret(metadata=meta, tenant_id=tenant, workspace_id=workspace, name="a", value=first),
        ):
            with pytest.raises(SecretsError) as info:
                call()
            errors.append(f"{info.value} {info.value.details!r}")
    return errors


def test_no_plaintext_or_key_anywhere(acme, globex, caplog, monkeypatch):
    monkeypatch.setattr(envelope, "AESGCM", SpyAESGCM)
    SpyAESGCM.generated = []
    caplog.set_level(logging.DEBUG)  # every logger, SQL with its parameters included
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    monkeypatch.setattr(connections["default"], "force_debug_cursor", True)

    errors = scenario(acme, globex)

    assert len(SpyAESGCM.generated) == 4  # one data key per version
    needles = {}
    for text in PLAINTEXTS:
        needles.update({form: f"plaintext {text!r}" for form in forms(text.encode("utf-8"))})
    for n, dek in enumerate(SpyAESGCM.generated):
        needles.update({form: f"data key #{n}" for form in forms(dek)})
    for name, kek in (("k1", K1), ("k2", K2)):
        needles.update({form: f"master key {name}" for form in forms(kek)})

    def check(where: str, value: object) -> None:
        blob = as_bytes(value)
        for needle, what in needles.items():
            assert needle not in blob, f"{what} found in {where}"

    scanned = 0
    for model in apps.get_models():
        fields = [f.attname for f in model._meta.concrete_fields]
        for row in model._base_manager.all().values_list(*fields):
            scanned += 1
            for field, value in zip(fields, row, strict=True):
                check(f"{model._meta.label}.{field}", value)
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            columns = [c[0] for c in cursor.description]
            for row in cursor.fetchall():
                scanned += 1
                for column, value in zip(columns, row, strict=True):
                    check(f"{table}.{column}", value)
        cursor.execute("SELECT * FROM eventlog_event")
        events = cursor.fetchall()
    assert len(events) >= 14 and scanned > 2 * len(events)
    for event in events:
        check("eventlog_event", repr(event))

    assert any(r.name == "django.db.backends" for r in caplog.records)  # SQL was logged and checked
    assert any(r.name == "controlplane.secrets" for r in caplog.records)
    for record in caplog.records:
        check(f"log record {record.name}", record.getMessage())
        check(f"log record {record.name} args", repr(record.args))
    check("captured log text", caplog.text)
    for text in errors:
        check("an error message or command output", text)


def test_forms_catch_what_they_should():
    assert base64.b64encode(b"Zebra") in forms(b"Zebra")
    assert binascii.hexlify(b"Zebra") in forms(b"Zebra")
