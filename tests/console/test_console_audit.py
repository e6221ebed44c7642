"""Console (Django admin) writes land on the audit trail with their outcome."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from controlplane.audit.models import AuditRecord
from controlplane.eventlog.metadata import Metadata
from controlplane.iam.actions import do_grant_role
from controlplane.tenancy.actions import do_create_tenant
from controlplane.tenancy.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def root() -> Client:
    User.objects.create_superuser("root", password="x-root-password-1")
    client = Client(SERVER_NAME="localhost")
    client.force_login(User.objects.get(username="root"))
    return client


def last() -> AuditRecord:
    return AuditRecord.objects.order_by("-id").first()


def test_adding_a_user_in_the_console_is_audited(root):
    response = root.post(
        "/admin/auth/user/add/",
        {
            "username": "carol",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content[:500]
    record = last()
    assert (record.action, record.resource_type, record.result) == ("console.add", "auth.user", "ok")
    assert (record.actor_kind, record.actor_id) == ("user", "root")


def test_a_rejected_form_is_audited_as_failed(root):
    root.post("/admin/auth/user/add/", {"username": "", "password1": "a", "password2": "b"})
    record = last()
    assert (record.action, record.result, record.error_code) == ("console.add", "failed", "HTTP_200")


def test_a_member_without_the_permission_is_audited_as_denied():
    # Signed in to the console as a tenant member (not staff), with Django's view permission on users only.
    staff = User.objects.create_user("dave", password="x-dave-password-1")
    staff.user_permissions.add(Permission.objects.get(codename="view_user"))
    boot = Metadata.for_system(None, reason="test")
    tenant = Tenant.objects.get(id=do_create_tenant(metadata=boot, name="Acme", slug="acme"))
    do_grant_role(user=staff, tenant=tenant, role="viewer", metadata=boot)
    client = Client(SERVER_NAME="localhost")
    client.force_login(staff)
    response = client.post(f"/admin/auth/user/{staff.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    record = last()
    assert (record.action, record.resource_id, record.result) == ("console.delete", str(staff.pk), "denied")
    assert User.objects.filter(pk=staff.pk).exists()


def test_bulk_delete_is_audited_once_with_every_id(root):
    ids = [str(User.objects.create_user(f"u{i}").pk) for i in range(3)]
    form = {"action": "delete_selected", "_selected_action": ids}
    root.post("/admin/auth/user/", form)  # the confirmation page: nothing written, nothing recorded
    assert not AuditRecord.objects.filter(action="console.delete_selected").exists()
    root.post("/admin/auth/user/", {**form, "post": "yes"})
    record = AuditRecord.objects.get(action="console.delete_selected")
    assert record.result == "ok" and record.resource_id == ",".join(ids)
    assert not User.objects.filter(pk__in=ids).exists()
