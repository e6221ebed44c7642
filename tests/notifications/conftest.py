"""Fixtures of the notifications tests: a tenant with a workspace and an admin, a real SMTP server (aiosmtpd), and
settings that make retries immediate (no test waits on the clock)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import User
from django.test.utils import override_settings

from controlplane.eventlog.metadata import Actor, Metadata
from controlplane.iam import actions as iam
from controlplane.notifications.domain.notice import Notice
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant


@dataclass(frozen=True)
class Place:
    tenant_id: str
    workspace_id: str
    meta: Metadata  # the control plane (the alerts app calls do_send_notification as the system)
    admin: Metadata  # an admin of the tenant with the credential, as a request carries it
    viewer: Metadata


def _user(tenant_id: str, workspace_id: str, name: str, role: str) -> Metadata:
    user = User.objects.create_user(name)
    iam.do_grant_role(
        user=user, tenant=Tenant.objects.get(id=tenant_id), role=role, metadata=Metadata.for_system(None, reason="t")
    )
    return Metadata(
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        actor=Actor(kind="user", id=name),
        request_id="req-n",
        correlation_id="req-n",
        principal=user,
    )


def make_place(slug: str) -> Place:
    boot = Metadata.for_system(None, reason="tests")
    tenant_id = tenancy.do_create_tenant(metadata=boot, name=slug.title(), slug=slug)
    workspace_id = tenancy.do_create_workspace(metadata=boot, tenant_id=tenant_id, name="ETL", slug="etl")
    return Place(
        tenant_id=tenant_id,
        workspace_id=workspace_id,
        meta=Metadata.for_system(tenant_id, reason="alerts.notify", workspace_id=workspace_id),
        admin=_user(tenant_id, workspace_id, f"admin@{slug}", "admin"),
        viewer=_user(tenant_id, workspace_id, f"viewer@{slug}", "viewer"),
    )


@pytest.fixture
def place(db) -> Place:  # type: ignore[no-untyped-def]
    return make_place("acme")


@pytest.fixture(autouse=True)
def quick_retries() -> Iterator[None]:
    with override_settings(
        CONTROLPLANE_NOTIFY_MAX_ATTEMPTS=3, CONTROLPLANE_NOTIFY_BACKOFF_SECONDS=0, CONTROLPLANE_NOTIFY_TIMEOUT_SECONDS=5
    ):
        yield


def firing(name: str = "RunFailed", **overrides: object) -> Notice:
    values: dict = {
        "kind": "alert",
        "status": "firing",
        "severity": "critical",
        "name": name,
        "summary": "run 42 of job nightly failed",
        "labels": (("cluster", "zeta"), ("job", "nightly")),
        "fingerprint": "f" * 16,
        "starts_at": datetime(2026, 12, 4, 18, 0, tzinfo=UTC),
        "ends_at": None,
        "url": "http://controlplane.example/alerts/1",
        "tenant_name": "Acme",
    }
    return Notice(**{**values, **overrides})


def resolved(name: str = "RunFailed") -> Notice:
    return firing(name, status="resolved", ends_at=datetime(2026, 12, 4, 18, 30, tzinfo=UTC))


@dataclass
class Mailbox:
    port: int
    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.box.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server on loopback; Django's SMTP backend is pointed at it."""
    box = Mailbox(port=_free_port())
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=box.port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            DEFAULT_FROM_EMAIL="alerts@controlplane.example",
        ):
            yield box
    finally:
        controller.stop()
