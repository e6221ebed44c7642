"""Job templates render configs that pass validation; bad parameters are named."""

from __future__ import annotations

import pytest

from controlplane.seatunnel.catalog import catalog_for
from controlplane.seatunnel.config.errors import JobTemplateParamsInvalid, JobTemplateUnknown
from controlplane.seatunnel.config.parse import parse_config
from controlplane.seatunnel.config.templates import PARAM_TYPES, TEMPLATES, render_template
from controlplane.seatunnel.config.validate import validate

JDBC = {
    "source_url": "jdbc:mysql://db1:3306/app",
    "source_user": "reader",
    "source_password_secret": "db1-password",
    "source_query": "select * from orders",
    "sink_url": "jdbc:mysql://db2:3306/dwh",
    "sink_user": "writer",
    "sink_password_secret": "db2-password",
    "sink_database": "dwh",
    "sink_table": "orders",
}
CDC = {
    "source_url": "jdbc:mysql://db1:3306/app",
    "source_user": "cdc",
    "source_password_secret": "db1-password",
    "table_names": ["app.orders", "app.customers"],
    "server_id": 5652,
    "sink_url": "jdbc:mysql://db2:3306/dwh",
    "sink_user": "writer",
    "sink_password_secret": "db2-password",
    "sink_database": "dwh",
    "sink_table": "orders",
    "primary_keys": "id",
}
PARAMS = {"fake-to-console": {}, "jdbc-mysql-to-jdbc-mysql": JDBC, "mysql-cdc-to-jdbc": CDC}
SECRETS = {"db1-password", "db2-password"}


def test_every_template_has_a_case_and_a_schema():
    assert set(TEMPLATES) == set(PARAMS)
    for template in TEMPLATES.values():
        for param in template.schema():
            assert set(param) >= {"name", "type", "required", "default", "description"}
            assert param["type"] in PARAM_TYPES


@pytest.mark.parametrize("version", ["2.3.8", "2.3.12"])
@pytest.mark.parametrize("name", sorted(PARAMS))
def test_templates_render_valid_hocon(name, version):
    text = render_template(name, PARAMS[name], engine_version=version)
    parsed = parse_config(text)
    assert parsed.format == "hocon"
    assert validate(parsed, catalog=catalog_for(version), secret_exists=SECRETS.__contains__) == []
    old_keys = version == "2.3.8"
    assert ("result_table_name" in text) is old_keys and ("plugin_output" in text) is not old_keys


def test_rendered_values_are_quoted_and_secrets_are_references():
    text = render_template("jdbc-mysql-to-jdbc-mysql", {**JDBC, "source_query": 'select "x" from t # not a comment'})
    parsed = parse_config(text)
    source = parsed.normalised["source"][0]["options"]
    assert source["query"] == 'select "x" from t # not a comment'
    assert source["password"] == "[[secret:db1-password]]"
    cdc = parse_config(render_template("mysql-cdc-to-jdbc", CDC)).normalised
    assert cdc["sink"][0]["options"]["primary_keys"] == ["id"]
    assert cdc["env"]["job.mode"] == "STREAMING"


def test_defaults_apply():
    normal = parse_config(render_template("fake-to-console", {"mode": "streaming", "row_num": "5"})).normalised
    assert normal["env"]["job.mode"] == "STREAMING"
    assert normal["source"][0]["options"]["row.num"] == 5


@pytest.mark.parametrize(
    ("name", "params", "bad"),
    [
        ("jdbc-mysql-to-jdbc-mysql", {k: v for k, v in JDBC.items() if k != "sink_table"}, "sink_table"),
        ("jdbc-mysql-to-jdbc-mysql", {**JDBC, "source_url": "postgres://x"}, "source_url"),
        ("jdbc-mysql-to-jdbc-mysql", {**JDBC, "sink_password_secret": "has space"}, "sink_password_secret"),
        ("jdbc-mysql-to-jdbc-mysql", {**JDBC, "sink_user": "[[secret:x]]"}, "sink_user"),
        ("mysql-cdc-to-jdbc", {**CDC, "server_id": "abc"}, "server_id"),
        ("mysql-cdc-to-jdbc", {**CDC, "table_names": []}, "table_names"),
        ("fake-to-console", {"mode": "MICRO"}, "mode"),
        ("fake-to-console", {"row_num": 0}, "row_num"),
        ("fake-to-console", {"row_num": True}, "row_num"),
        ("fake-to-console", {"colour": "red"}, "colour"),
    ],
)
def test_invalid_params_are_named(name, params, bad):
    with pytest.raises(JobTemplateParamsInvalid) as info:
        render_template(name, params)
    assert info.value.code == "JOB_TEMPLATE_PARAMS_INVALID"
    assert info.value.details["param"] == bad
    assert bad in info.value.message


def test_unknown_template():
    with pytest.raises(JobTemplateUnknown) as info:
        render_template("nope", {})
    assert info.value.code == "JOB_TEMPLATE_UNKNOWN"
