"""Secret references inside option values, and their substitution at submission time only.

Syntax: `[[secret:NAME]]` anywhere inside a string value (whole value or part of one, e.g. inside a JDBC URL).
NAME is 1-128 of letters, digits, `_`, `-`, `.`, starting with a letter or digit. In HOCON the value must be quoted
(`password = "[[secret:db-password]]"`), since an unquoted `[` opens a list.

Why not `${secret:NAME}`: the engine already owns `${...}` twice. HOCON substitutions (`${path}`) are resolved by the
parser, and SeaTunnel's own variable substitution (`seatunnel.sh -i key=value`, ZETA_FACTS §3) replaces `${var}` and
`${var:default}`, so `${secret:db-password}` would read as variable `secret` with default `db-password`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

SECRET_REF = re.compile(r"\[\[secret:([A-Za-z0-9][A-Za-z0-9_.-]{0,127})\]\]")


def secret_ref(name: str) -> str:
    """The reference text of a secret name."""
    text = f"[[secret:{name}]]"
    if not SECRET_REF.fullmatch(text):
        raise ValueError(f"not a valid secret name: {name!r}")
    return text


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _walk(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _walk(inner, f"{path}[{index}]")
    elif isinstance(value, str):
        for match in SECRET_REF.finditer(value):
            yield path, match[1]


def secret_references(normalised: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(path, secret name) of every reference, in config order; paths as in validation problems."""
    found = list(_walk(normalised.get("env", {}), "env"))
    for kind in ("source", "transform", "sink"):
        for index, item in enumerate(normalised.get(kind, [])):
            found.extend(_walk(item["options"], f"{kind}[{index}].{item['plugin']}"))
    return found


def secret_names(normalised: Mapping[str, Any]) -> list[str]:
    return sorted({name for _, name in secret_references(normalised)})


class SecretUnresolved(KeyError):
    """The resolver returned no value for a referenced name (the name is given, never a value)."""


def _substitute(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, Mapping):
        return {key: _substitute(inner, values) for key, inner in value.items()}
    if isinstance(value, list):
        return [_substitute(inner, values) for inner in value]
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            if match[1] not in values:
                raise SecretUnresolved(match[1])
            return values[match[1]]

        return SECRET_REF.sub(replace, value)
    return copy.deepcopy(value)


def render_secrets(normalised: Mapping[str, Any], resolve: Callable[[list[str]], Mapping[str, str]]) -> dict[str, Any]:
    """A new normal form with every reference replaced by its value; the input is not touched.

    `resolve` is called once with the sorted referenced names. Nothing here logs or keeps the values; the caller
    must not store the result (it exists for the one submission request).
    """
    names = secret_names(normalised)
    values = resolve(names) if names else {}
    return {key: _substitute(value, values) for key, value in normalised.items()}
