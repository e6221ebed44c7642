"""Parameterised job templates for common pipelines; each renders HOCON that passes validation.

Based on the shared example configs (FakeSource -> Console from config/v2.batch.config.template, JDBC MySQL -> JDBC
from the jdbc e2e config, MySQL-CDC -> JDBC from the CDC e2e config). Passwords are never template parameters: a
`secret` parameter takes a secret *name* and renders `[[secret:NAME]]` (resolved only at submission).
Table wiring uses `plugin_output`/`plugin_input` for engines >= 2.3.9 and `result_table_name`/`source_table_name`
before (the rename came with 2.3.9, ZETA_FACTS §0).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from controlplane.seatunnel.catalog import parse_version
from controlplane.seatunnel.config.errors import JobTemplateParamsInvalid, JobTemplateUnknown
from controlplane.seatunnel.config.secrets import SECRET_REF, secret_ref

PARAM_TYPES = ("string", "int", "bool", "string_list", "secret", "enum")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool = True
    default: Any = None
    description: str = ""
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    pattern: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["choices"] = list(self.choices)
        return data


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    build: Callable[[dict[str, Any], bool], str] = field(repr=False)

    def schema(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.params]


def hocon_value(value: Any) -> str:
    """A HOCON literal: JSON strings/numbers/booleans/lists are valid HOCON."""
    return json.dumps(value, ensure_ascii=False)


def _coerce(param: Param, value: Any) -> Any:
    kind = param.type
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("must be an integer")
        number = int(value)  # "42" from a form is fine; "x" raises ValueError
        if param.minimum is not None and number < param.minimum:
            raise ValueError(f"must be at least {param.minimum}")
        return number
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError("must be true or false")
    if kind == "string_list":
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",")]
        if not isinstance(value, list | tuple) or not value or not all(isinstance(v, str) and v for v in value):
            raise ValueError("must be a non-empty list of strings")
        return list(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    value = value.strip()
    if kind == "secret":
        try:
            secret_ref(value)
        except ValueError:
            raise ValueError("must be a secret name (letters, digits, _ - .)") from None
        return value
    if kind == "enum" and value.upper() not in param.choices:
        raise ValueError(f"must be one of {', '.join(param.choices)}")
    if kind == "enum":
        return value.upper()
    if SECRET_REF.search(value) and param.type == "string":
        raise ValueError("must not contain a secret reference; use a secret parameter")
    if param.pattern and not re.fullmatch(param.pattern, value):
        raise ValueError("has an unexpected form")
    return value


def _resolve_params(template: Template, given: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(given) - {p.name for p in template.params})
    if unknown:
        raise JobTemplateParamsInvalid(
            f"Template {template.name} has no parameter {unknown[0]!r}.",
            template=template.name,
            param=unknown[0],
            reason="unknown parameter",
        )
    values: dict[str, Any] = {}
    for param in template.params:
        raw = given.get(param.name)
        if raw is None or raw == "":
            if param.required and param.default is None:
                raise JobTemplateParamsInvalid(
                    f"Template {template.name}: parameter {param.name!r} is required.",
                    template=template.name,
                    param=param.name,
                    reason="required",
                )
            raw = param.default
        if raw is None:
            values[param.name] = None
            continue
        try:
            values[param.name] = _coerce(param, raw)
        except ValueError as exc:
            raise JobTemplateParamsInvalid(
                f"Template {template.name}: parameter {param.name!r} {exc}.",
                template=template.name,
                param=param.name,
                reason=str(exc),
            ) from None
    return values


def _wiring(new_keys: bool) -> tuple[str, str]:
    return ("plugin_output", "plugin_input") if new_keys else ("result_table_name", "source_table_name")


def _env(mode: str, parallelism: int, checkpoint_interval: int | None, job_name: str | None) -> list[str]:
    lines = ["env {", f"  job.mode = {hocon_value(mode)}", f"  parallelism = {parallelism}"]
    if checkpoint_interval:
        lines.append(f"  checkpoint.interval = {checkpoint_interval}")
    if job_name:
        lines.append(f"  job.name = {hocon_value(job_name)}")
    lines.append("}")
    return lines


def _fake_to_console(p: dict[str, Any], new_keys: bool) -> str:
    output, input_ = _wiring(new_keys)
    lines = _env(p["mode"], p["parallelism"], p["checkpoint_interval"], p["job_name"])
    lines += [
        "",
        "source {",
        "  FakeSource {",
        f"    {output} = {hocon_value(p['table'])}",
        f"    row.num = {p['row_num']}",
        "    schema = {",
        "      fields {",
        '        name = "string"',
        '        age = "int"',
        "      }",
        "    }",
        "  }",
        "}",
        "",
        "sink {",
        "  Console {",
        f"    {input_} = {hocon_value(p['table'])}",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _jdbc_block(prefix: str, p: dict[str, Any], extra: list[str]) -> list[str]:
    return [
        "  Jdbc {",
        f"    url = {hocon_value(p[prefix + 'url'])}",
        '    driver = "com.mysql.cj.jdbc.Driver"',
        f"    user = {hocon_value(p[prefix + 'user'])}",
        f"    password = {hocon_value(secret_ref(p[prefix + 'password_secret']))}",
        *extra,
        "  }",
    ]


def _jdbc_to_jdbc(p: dict[str, Any], new_keys: bool) -> str:
    output, input_ = _wiring(new_keys)
    lines = _env("BATCH", p["parallelism"], None, p["job_name"])
    lines += ["", "source {"]
    lines += _jdbc_block(
        "source_", p, [f'    {output} = "source_rows"', f"    query = {hocon_value(p['source_query'])}"]
    )
    lines += ["}", "", "sink {"]
    lines += _jdbc_block(
        "sink_",
        p,
        [
            f'    {input_} = "source_rows"',
            "    generate_sink_sql = true",
            f"    database = {hocon_value(p['sink_database'])}",
            f"    table = {hocon_value(p['sink_table'])}",
        ],
    )
    lines += ["}"]
    return "\n".join(lines) + "\n"


def _cdc_to_jdbc(p: dict[str, Any], new_keys: bool) -> str:
    output, input_ = _wiring(new_keys)
    lines = _env("STREAMING", p["parallelism"], p["checkpoint_interval"], p["job_name"])
    lines += [
        "",
        "source {",
        "  MySQL-CDC {",
        f'    {output} = "cdc_rows"',
        f"    base-url = {hocon_value(p['source_url'])}",
        f"    username = {hocon_value(p['source_user'])}",
        f"    password = {hocon_value(secret_ref(p['source_password_secret']))}",
        f"    table-names = {hocon_value(p['table_names'])}",
    ]
    if p["server_id"] is not None:
        lines.append(f"    server-id = {p['server_id']}")
    lines += ["  }", "}", "", "sink {"]
    lines += _jdbc_block(
        "sink_",
        p,
        [
            f'    {input_} = "cdc_rows"',
            "    generate_sink_sql = true",
            f"    database = {hocon_value(p['sink_database'])}",
            f"    table = {hocon_value(p['sink_table'])}",
            f"    primary_keys = {hocon_value(p['primary_keys'])}",
        ],
    )
    lines += ["}"]
    return "\n".join(lines) + "\n"


_NAME = Param("job_name", "string", required=False, description="env job.name shown by the engine")
_PARALLELISM = Param("parallelism", "int", required=False, default=1, minimum=1, description="env parallelism")
_URL = r"jdbc:mysql://[^\s/]+(/\S*)?"


def _jdbc_params(prefix: str, role: str) -> tuple[Param, ...]:
    return (
        Param(f"{prefix}url", "string", pattern=_URL, description=f"{role} JDBC URL, jdbc:mysql://host:3306/db"),
        Param(f"{prefix}user", "string", description=f"{role} database user"),
        Param(f"{prefix}password_secret", "secret", description=f"name of the secret holding the {role} password"),
    )


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template(
            name="fake-to-console",
            title="FakeSource -> Console",
            description="Generated rows printed by the engine; a smoke test of a cluster.",
            params=(
                Param("mode", "enum", required=False, default="BATCH", choices=("BATCH", "STREAMING")),
                Param("row_num", "int", required=False, default=16, minimum=1, description="rows per split"),
                Param("table", "string", required=False, default="fake", pattern=r"[A-Za-z_][\w]*"),
                _PARALLELISM,
                Param("checkpoint_interval", "int", required=False, minimum=1, description="ms (STREAMING)"),
                _NAME,
            ),
            build=_fake_to_console,
        ),
        Template(
            name="jdbc-mysql-to-jdbc-mysql",
            title="JDBC MySQL -> JDBC MySQL",
            description="Batch copy of a query result into a MySQL table (sink SQL generated by the engine).",
            params=(
                *_jdbc_params("source_", "source"),
                Param("source_query", "string", description="SELECT run on the source"),
                *_jdbc_params("sink_", "sink"),
                Param("sink_database", "string", description="sink database"),
                Param("sink_table", "string", description="sink table"),
                _PARALLELISM,
                _NAME,
            ),
            build=_jdbc_to_jdbc,
        ),
        Template(
            name="mysql-cdc-to-jdbc",
            title="MySQL-CDC -> JDBC MySQL",
            description="Streaming change capture from MySQL tables into a MySQL table (upserts by primary keys).",
            params=(
                *_jdbc_params("source_", "CDC source"),
                Param("table_names", "string_list", description="database.table names to capture"),
                Param("server_id", "int", required=False, minimum=1, description="MySQL replication server-id"),
                *_jdbc_params("sink_", "sink"),
                Param("sink_database", "string", description="sink database"),
                Param("sink_table", "string", description="sink table"),
                Param("primary_keys", "string_list", description="sink primary key columns"),
                _PARALLELISM,
                Param("checkpoint_interval", "int", required=False, default=10000, minimum=1, description="ms"),
                _NAME,
            ),
            build=_cdc_to_jdbc,
        ),
    )
}


def template_get(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise JobTemplateUnknown(f"No job template named {name!r}.", template=name, known=sorted(TEMPLATES)) from None


def render_template(name: str, params: Mapping[str, Any], *, engine_version: str = "2.3.12") -> str:
    """HOCON text of a template; JOB_TEMPLATE_PARAMS_INVALID names the first bad parameter."""
    template = template_get(name)
    values = _resolve_params(template, params)
    return template.build(values, parse_version(engine_version) >= (2, 3, 9))
