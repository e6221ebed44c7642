"""SeaTunnel SQL job configs (`*.sql`), read far enough to validate, report and diff.

Shape (ZETA_FACTS §3): HOCON `env` inside a `/* config ... */` comment, then
`CREATE TABLE <name> WITH ('connector'='<Plugin>', 'type'='source'|'sink', '<opt>'='<val>', ...);`,
`CREATE TABLE <name> AS SELECT ... FROM <table>;` and `INSERT INTO <sink> SELECT ... FROM <table>;`.
The normal form built from it is our reading (sources get `plugin_output` = table name, a non-trivial SELECT becomes a
`Sql` transform, sinks get `plugin_input`), not the engine's own SQL-to-config translation; option values stay the
strings the SQL gives. The engine takes SQL text only from 3.x (`format=sql`), so 2.3.x clusters cannot run it.
"""

from __future__ import annotations

import re
from typing import Any

from controlplane.seatunnel.config.errors import JobConfigParseError
from controlplane.seatunnel.config.hocon import load_hocon

_CONFIG_COMMENT = re.compile(r"/\*\s*config\b(.*?)\*/", re.DOTALL | re.IGNORECASE)
_CREATE_WITH = re.compile(r"^CREATE\s+TABLE\s+([\w.`\"]+)\s+WITH\s*\((.*)\)$", re.DOTALL | re.IGNORECASE)
_CREATE_AS = re.compile(r"^CREATE\s+TABLE\s+([\w.`\"]+)\s+AS\s+(SELECT\b.*)$", re.DOTALL | re.IGNORECASE)
_INSERT = re.compile(r"^INSERT\s+INTO\s+([\w.`\"]+)\s+(SELECT\b.*)$", re.DOTALL | re.IGNORECASE)
_FROM = re.compile(r"\bFROM\s+([\w.`\"]+)", re.IGNORECASE)
_SELECT_ALL = re.compile(r"^SELECT\s+\*\s+FROM\s+([\w.`\"]+)\s*$", re.IGNORECASE)


def looks_like_sql(text: str) -> bool:
    body = _strip_comments(text)[0]
    return bool(re.search(r"^\s*(CREATE\s+TABLE|INSERT\s+INTO)\b", body, re.IGNORECASE | re.MULTILINE))


def _error(text: str, offset: int, message: str) -> JobConfigParseError:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return JobConfigParseError(
        f"SQL config error at line {line}, column {column}: {message}",
        format="sql",
        line=line,
        column=column,
        reason=message,
    )


def _strip_comments(text: str) -> tuple[str, str | None]:
    """The text with comments blanked (offsets kept) and the body of the `/* config */` comment, if any."""
    config = None
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "'":
            j = i + 1
            while j < n:
                if text[j] == "'" and text.startswith("''", j):
                    j += 2
                    continue
                if text[j] == "'":
                    break
                j += 1
            i = j + 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            match = _CONFIG_COMMENT.match(text, i)
            if match and config is None:
                config = match[1]
            for k in range(i, end):
                if out[k] != "\n":
                    out[k] = " "
            i = end
            continue
        if text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            for k in range(i, end):
                out[k] = " "
            i = end
            continue
        i += 1
    return "".join(out), config


def _statements(body: str) -> list[tuple[int, str]]:
    statements, start, i, n = [], 0, 0, len(body)
    while i < n:
        if body[i] == "'":
            i += 1
            while i < n and not (body[i] == "'" and not body.startswith("''", i)):
                i += 2 if body.startswith("''", i) else 1
        elif body[i] == ";":
            statements.append((start, body[start:i]))
            start = i + 1
        i += 1
    statements.append((start, body[start:]))
    return [(offset + len(s) - len(s.lstrip()), s.strip()) for offset, s in statements if s.strip()]


def _with_options(text: str, offset: int, inner: str) -> dict[str, str]:
    options: dict[str, str] = {}
    pair = re.compile(r"\s*'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)'\s*(,|$)", re.DOTALL)
    pos = 0
    while pos < len(inner.rstrip()):
        match = pair.match(inner, pos)
        if match is None:
            raise _error(text, offset, "expected 'key' = 'value' pairs inside WITH (...)")
        options[match[1].replace("''", "'")] = match[2].replace("''", "'")
        pos = match.end()
    return options


def _name(raw: str) -> str:
    return raw.strip('`"')


def load_sql(text: str) -> dict[str, Any]:
    body, config = _strip_comments(text)
    env: dict[str, Any] = {}
    if config is not None:
        start = text.find(config)
        try:
            env = load_hocon(config).get("env") or {}
        except JobConfigParseError as exc:
            block_line = exc.details.get("line")
            line = (block_line if isinstance(block_line, int) and block_line else 1) + text.count("\n", 0, start)
            raise JobConfigParseError(
                f"SQL config: the /* config */ block: {exc.details.get('reason', exc.message)}",
                format="sql",
                line=line,
                column=exc.details.get("column"),
                reason=exc.details.get("reason", exc.message),
            ) from None
    sources: list[dict[str, Any]] = []
    transforms: list[dict[str, Any]] = []
    sinks: dict[str, dict[str, Any]] = {}
    sink_order: list[str] = []
    for offset, statement in _statements(body):
        if match := _CREATE_WITH.match(statement):
            name = _name(match[1])
            options = _with_options(text, offset, match[2])
            plugin = options.pop("connector", None)
            role = options.pop("type", "").lower()
            if not plugin:
                raise _error(text, offset, f"table {name} has no 'connector'")
            if role == "source":
                sources.append({"plugin_name": plugin, "plugin_output": name, **options})
            elif role == "sink":
                sinks[name] = {"plugin_name": plugin, **options}
                sink_order.append(name)
            else:
                raise _error(text, offset, f"table {name}: 'type' must be 'source' or 'sink'")
        elif match := _CREATE_AS.match(statement):
            query = match[2].strip()
            upstream = _FROM.search(query)
            transforms.append(
                {
                    "plugin_name": "Sql",
                    "plugin_input": _name(upstream[1]) if upstream else "",
                    "plugin_output": _name(match[1]),
                    "query": query,
                }
            )
        elif match := _INSERT.match(statement):
            target, query = _name(match[1]), match[2].strip()
            if target not in sinks:
                raise _error(text, offset, f"INSERT INTO {target}: no sink table of that name was created before")
            simple = _SELECT_ALL.match(query)
            if simple:
                sinks[target]["plugin_input"] = _name(simple[1])
            else:
                upstream = _FROM.search(query)
                output = f"{target}__insert"
                transforms.append(
                    {
                        "plugin_name": "Sql",
                        "plugin_input": _name(upstream[1]) if upstream else "",
                        "plugin_output": output,
                        "query": query,
                    }
                )
                sinks[target]["plugin_input"] = output
        else:
            raise _error(text, offset, f"unsupported statement: {statement.split(None, 2)[:2]}")
    return {"env": env, "source": sources, "transform": transforms, "sink": [sinks[n] for n in sink_order]}
