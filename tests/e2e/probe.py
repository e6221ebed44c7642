"""The end-to-end test's window into its control plane, run as ``python -m tests.e2e.probe <command> [args]`` in
the control plane's own environment (its private database, data directory and keys), never in the pytest process.

Commands (each prints one JSON document on stdout):

- ``create-database``: a fresh, empty database named by CONTROLPLANE_DATABASE_URL (PostgreSQL, MariaDB; dropped
  first if a previous run left it). ``drop-database`` removes it.
- ``setup``: migrate; tenant ``acme`` with workspace ``etl``; a user ``owner`` holding the owner role; prints
  ``{"token": <a JWT access token for the API and the websockets>}``.
- ``topic <operation_id>``: the events a websocket following the operation must receive, read from the log on
  their own terms: the operation's stream and the streams of the agent actions requested for it, by position.
- ``stream <stream_id>``: one stream's events, by position, with their payloads.
"""

from __future__ import annotations

import json
import os
import sys


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")
    import django

    django.setup()


def _database(create: bool) -> dict:
    from django.db import connection

    name = connection.settings_dict["NAME"]
    quoted = connection.ops.quote_name(name)
    if connection.vendor == "sqlite":
        return {"database": name, "skipped": "sqlite"}
    # The server's maintenance connection (Django's own way to create test databases).
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")
        if create:
            suffix = " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" if connection.vendor == "mysql" else ""
            cursor.execute(f"CREATE DATABASE {quoted}{suffix}")
    return {"database": name, "created" if create else "dropped": True}


def _setup() -> dict:
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import RefreshToken

    from controlplane.eventlog.metadata import Metadata
    from controlplane.iam import actions as iam
    from controlplane.tenancy import actions as tenancy
    from controlplane.tenancy.models import Tenant

    call_command("migrate", interactive=False, verbosity=0)
    boot = Metadata.for_system(None, reason="e2e test setup")
    tenant_id = tenancy.do_create_tenant(metadata=boot, name="Acme", slug="acme")
    tenancy.do_create_workspace(metadata=boot, tenant_id=tenant_id, name="ETL", slug="etl")
    owner = User.objects.create_user("owner")
    iam.do_grant_role(
        user=owner,
        tenant=Tenant.objects.get(id=tenant_id),
        role="owner",
        metadata=Metadata.for_system(None, reason="e2e test"),
    )
    return {"tenant_id": tenant_id, "token": str(RefreshToken.for_user(owner).access_token)}


def _rows(query) -> list[dict]:  # type: ignore[no-untyped-def]
    return [
        {"position": e.position, "type": e.event_type, "stream": e.stream_id, "data": json.loads(e.payload)}
        for e in query.order_by("position")
    ]


def _topic(operation_id: str) -> list[dict]:
    from django.db.models import Q

    from controlplane.agents.actions import action_stream
    from controlplane.agents.models import Action
    from controlplane.eventlog.models import Event

    actions = [
        action_stream(a).id for a in Action.unscoped.filter(operation_id=operation_id).values_list("id", flat=True)
    ]
    return _rows(
        Event.objects.filter(
            Q(stream_id=f"operation-{operation_id}") | Q(stream_type="agents.action", stream_id__in=actions)
        )
    )


def _stream(stream_id: str) -> list[dict]:
    from controlplane.eventlog.models import Event

    return _rows(Event.objects.filter(stream_id=stream_id))


def main(argv: list[str]) -> int:
    _setup_django()
    command, args = argv[0], argv[1:]
    if command == "create-database":
        out: object = _database(create=True)
    elif command == "drop-database":
        out = _database(create=False)
    elif command == "setup":
        out = _setup()
    elif command == "topic":
        out = _topic(args[0])
    elif command == "stream":
        out = _stream(args[0])
    else:
        print(f"unknown command {command!r}", file=sys.stderr)
        return 2
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
