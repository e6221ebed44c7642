"""The OpenAPI document is exact where the fuzzer cannot tell (tests/api/test_fuzz.py checks the rest), and its
browsable docs work without internet: Swagger UI comes from the drf-spectacular-sidecar package."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_the_docs_page_loads_nothing_from_the_internet():
    from django.contrib.auth.models import User

    client = Client(SERVER_NAME="localhost")
    client.force_login(User.objects.create_superuser("root"))
    page = client.get("/api/docs/").content.decode()
    external = re.findall(r"""(?:src|href)=["']?(https?:)?//""", page)
    assert external == [], page
    assets = re.findall(r"/static/(drf_spectacular_sidecar/[^\"'\s]+)", page)
    assert assets, page
    for asset in assets:
        assert finders.find(asset), f"{asset} is not in any static directory: collectstatic would not serve it"


def test_who_am_i_is_one_object_not_a_page(document):
    schema = resolve(
        document,
        document["paths"]["/api/v1/auth/me/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"],
    )
    assert schema["type"] == "object"
    assert set(schema["properties"]) == {"username", "platform_admin", "token", "token_kind", "token_tenant", "session"}


def test_request_bodies_are_their_own_schemas(document):
    jobs = document["paths"]["/api/v1/tenants/{tenant}/workspaces/{workspace}/jobs/"]["post"]
    body = resolve(document, jobs["requestBody"]["content"]["application/json"]["schema"])
    assert "config" in body["properties"] and "config" in body["required"]
    assert "id" not in body["properties"]
    assert list(jobs["requestBody"]["content"]) == ["application/json"]


def test_every_operation_documents_the_error_envelope(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status in ("400", "401", "403", "404", "413", "429"):
                response = operation["responses"].get(status)
                assert response, f"{method.upper()} {path} does not document {status}"
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_page_size_is_bounded_in_the_document(document):
    parameters = document["paths"]["/api/v1/tenants/"]["get"]["parameters"]
    [page_size] = [p for p in parameters if p["name"] == "page_size"]
    assert page_size["schema"] == {"type": "integer", "minimum": 1, "maximum": 500}
