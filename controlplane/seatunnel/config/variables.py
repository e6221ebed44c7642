"""Job variables: SeaTunnel's `${name}` placeholders, filled from values declared on the job, never from the host.

The engine's meaning (`seatunnel.sh -i name=value`, `ConfigBuilder`/`PlaceholderUtils` in apache/seatunnel):
`${name}` and `${name:default}` inside string values are replaced by the variable's value, `${?name}` by "" when
there is none, and table placeholders such as `${table_name}` are left for the sink to fill per table.
Here the values come only from the job's declared variables (each may have a default) and the values given
when a run starts. The normal form keeps the references; `render_variables` fills them in at submission only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from controlplane.errors import DomainError
from controlplane.seatunnel.config.errors import JobConfigVariableUnresolved

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# `${name}`, `${?name}`, `${name:default}` (the default runs to the first `}`, as in the engine)
REFERENCE = re.compile(r"\$\{(\?)?([^}:]*)(?::([^}]*))?\}")
MAX_VARIABLES = 50
MAX_VALUE_CHARS = 4096
# Left in place for the engine to fill: TablePlaceholder and the sinks' save-mode create templates.
SYSTEM_PLACEHOLDERS = frozenset(
    {
        "database_name",
        "schema_name",
        "schema_full_name",
        "table_name",
        "table_full_name",
        "primary_key",
        "unique_key",
        "field_names",
        "comment",
        "database",
        "table",
        "rowtype_fields",
        "rowtype_primary_key",
        "rowtype_unique_key",
        "rowtype_partition_key",
    }
)

Scalar = str | int | float | bool


class JobVariableInvalid(DomainError):
    """A declaration or a given value is malformed (details: variable, reason)."""

    code = "JOB_VARIABLE_INVALID"


class JobVariableUnknown(DomainError):
    """A run was given a value for a variable the job version does not declare."""

    code = "JOB_VARIABLE_UNKNOWN"


def check_value(name: str, value: Any) -> Scalar:
    """A variable value: a string (at most MAX_VALUE_CHARS), an integer, a finite number or a boolean."""
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, str):
        if len(value) > MAX_VALUE_CHARS:
            raise JobVariableInvalid(
                f"the value of {name} is longer than {MAX_VALUE_CHARS} characters", variable=name, reason="too_long"
            )
        return value
    raise JobVariableInvalid(
        f"the value of {name} must be a string, a number or a boolean", variable=name, reason="type"
    )


def check_declarations(declared: Any) -> list[dict[str, Any]]:
    """The canonical list of declarations `[{"name": ..., "default": ...}]` (default absent: none), sorted."""
    if declared is None:
        return []
    if not isinstance(declared, list):
        raise JobVariableInvalid("variables must be a list of {name, default}", reason="type")
    if len(declared) > MAX_VARIABLES:
        raise JobVariableInvalid(f"a job declares at most {MAX_VARIABLES} variables", reason="too_many")
    out: dict[str, dict[str, Any]] = {}
    for item in declared:
        if not isinstance(item, Mapping) or set(item) - {"name", "default"}:
            raise JobVariableInvalid("each variable is an object with a name and an optional default", reason="type")
        name = item.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise JobVariableInvalid(
                f"{name!r} is not a variable name (letters, digits and _, not starting with a digit, at most 64)",
                variable=name if isinstance(name, str) else None,
                reason="name",
            )
        if name in SYSTEM_PLACEHOLDERS:
            raise JobVariableInvalid(
                f"{name} is a placeholder the engine fills per table; choose another name", variable=name, reason="name"
            )
        if name in out:
            raise JobVariableInvalid(f"variable {name} is declared twice", variable=name, reason="duplicate")
        entry: dict[str, Any] = {"name": name}
        if "default" in item and item["default"] is not None:
            entry["default"] = check_value(name, item["default"])
        out[name] = entry
    return [out[name] for name in sorted(out)]


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _strings(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _strings(inner, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def references(normalised: Mapping[str, Any]) -> list[tuple[str, str, bool, bool]]:
    """(path, name, optional, has inline default) of every variable reference, in config order."""
    found = []
    pairs = list(_strings(normalised.get("env", {}), "env"))
    for kind in ("source", "transform", "sink"):
        for index, item in enumerate(normalised.get(kind, [])):
            pairs.extend(_strings(item["options"], f"{kind}[{index}].{item['plugin']}"))
    for path, text in pairs:
        for match in REFERENCE.finditer(text):
            name = match[2].strip()
            if name not in SYSTEM_PLACEHOLDERS:
                found.append((path, name, bool(match[1]), match[3] is not None))
    return found


def line_of(text: str, name: str) -> int | None:
    """The line of the first `${name`, `${?name` of a config text (None when the text does not show it)."""
    match = re.search(r"\$\{\??\s*" + re.escape(name) + r"\s*[:}]", text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def check_references(normalised: Mapping[str, Any], declared: list[dict[str, Any]], text: str = "") -> None:
    """JOB_CONFIG_VARIABLE_UNRESOLVED for the first reference naming no declared variable (without inline default);
    details name it, its path and its line in the text, and list every such name."""
    names = {d["name"] for d in declared}
    missing = [
        (path, name)
        for path, name, _opt, has_default in references(normalised)
        if name not in names and not has_default
    ]
    if not missing:
        return
    path, name = missing[0]
    line = line_of(text, name) if text else None
    where = f" (line {line})" if line else ""
    raise JobConfigVariableUnresolved(
        f"${{{name}}} at {path}{where} names no variable of the job: declare it (a config never reads the host's "
        "environment).",
        variable=name,
        path=path,
        line=line,
        column=None,
        variables=sorted({n for _, n in missing}),
    )


def run_values(declared: list[dict[str, Any]], given: Mapping[str, Any] | None) -> dict[str, Scalar]:
    """The values a run uses: each declared variable's given value, else its default (no value: left out)."""
    given = dict(given or {})
    names = {d["name"] for d in declared}
    for name in given:
        if name not in names:
            raise JobVariableUnknown(
                f"the job version declares no variable {name!r}", variable=name, declared=sorted(names)
            )
    values: dict[str, Scalar] = {}
    for item in declared:
        if item["name"] in given:
            values[item["name"]] = check_value(item["name"], given[item["name"]])
        elif "default" in item:
            values[item["name"]] = item["default"]
    return values


def _text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(text: str, values: Mapping[str, Scalar]) -> Any:
    def replace(match: re.Match[str]) -> str:
        name = match[2].strip()
        if name in SYSTEM_PLACEHOLDERS:
            return match[0]
        if name in values:
            return _text(values[name])
        if match[3] is not None:
            return match[3]
        if match[1]:
            return ""
        raise JobConfigVariableUnresolved(f"no value for variable {name}", variable=name)

    whole = REFERENCE.fullmatch(text)
    if whole is not None and whole[2].strip() in values:
        return values[whole[2].strip()]  # a whole-value reference keeps the value's type (`port = ${port}`)
    return REFERENCE.sub(replace, text)


def _render(value: Any, values: Mapping[str, Scalar]) -> Any:
    if isinstance(value, Mapping):
        return {key: _render(inner, values) for key, inner in value.items()}
    if isinstance(value, list):
        return [_render(inner, values) for inner in value]
    if isinstance(value, str) and "${" in value:
        return _fill(value, values)
    return value


def render_variables(normalised: Mapping[str, Any], values: Mapping[str, Scalar]) -> dict[str, Any]:
    """A new normal form with every variable reference filled in; JobConfigVariableUnresolved names a missing one."""
    out: dict[str, Any] = {"env": _render(normalised.get("env", {}), values)}
    for kind in ("source", "transform", "sink"):
        out[kind] = [
            {"plugin": item["plugin"], "options": _render(item["options"], values)} for item in normalised.get(kind, [])
        ]
    return out
