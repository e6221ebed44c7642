"""Every console (admin) list renders for platform staff, read-only, and a run's page shows its engine log."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from controlplane.jobs.models import RunTelemetry
from tests.api.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    world = build_world()
    client = Client(SERVER_NAME="localhost")
    client.force_login(world.users["root"])
    return world, client


def test_every_registered_list_renders_and_offers_no_add(staff):
    _, client = staff
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        add = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        if model.__module__.startswith("controlplane."):  # ours are read-only: writes go through actions
            assert add not in response.content.decode(), url


def test_a_run_page_shows_the_tail_of_its_engine_log(staff):
    world, client = staff
    run_id = world.objects["acme_run_running"]
    RunTelemetry.unscoped.create(
        run_id=run_id,
        tenant_id=world.acme.id,
        workspace_id=world.acme_ws.id,
        log_text="\n".join(f"line {n} <b>" for n in range(300)),
        log_at=timezone.now(),
    )
    page = client.get(reverse("admin:jobs_run_change", args=[run_id])).content.decode()
    assert "line 299 &lt;b&gt;" in page and "line 100 " in page and "line 99 " not in page
