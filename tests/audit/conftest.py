"""Two tenants with an owner each and a platform administrator: enough for the audit trail's tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from controlplane.eventlog.metadata import Metadata
from controlplane.iam import actions as iam
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant


@dataclass
class Place:
    acme: Tenant
    beta: Tenant
    users: dict[str, User]  # "acme" owns acme, "beta" owns beta, "viewer" views acme, "root" is a superuser

    def auth(self, who: str) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(self.users[who]).access_token}"}


@pytest.fixture
def place(db) -> Place:  # type: ignore[no-untyped-def]
    meta = Metadata.for_system(None, reason="tests")
    acme = Tenant.objects.get(id=tenancy.do_create_tenant(metadata=meta, name="Acme", slug="acme"))
    beta = Tenant.objects.get(id=tenancy.do_create_tenant(metadata=meta, name="Beta", slug="beta"))
    tenancy.do_create_workspace(metadata=meta, tenant_id=acme.id, name="ETL", slug="etl")
    tenancy.do_create_workspace(metadata=meta, tenant_id=beta.id, name="Beta WS", slug="beta-ws")
    users = {name: User.objects.create_user(f"{name}-user") for name in ("acme", "beta", "viewer")}
    iam.do_grant_role(user=users["acme"], tenant=acme, role="owner", metadata=Metadata.for_system(None, reason="tests"))
    iam.do_grant_role(user=users["beta"], tenant=beta, role="owner", metadata=Metadata.for_system(None, reason="tests"))
    iam.do_grant_role(
        user=users["viewer"], tenant=acme, role="viewer", metadata=Metadata.for_system(None, reason="tests")
    )
    users["root"] = User.objects.create_superuser("root")
    return Place(acme=acme, beta=beta, users=users)


@pytest.fixture
def client() -> Client:
    return Client(SERVER_NAME="localhost")
