"""A small, deterministic YAML writer for the forms' documents.

The installer travels in the agent's distribution, which does not carry PyYAML, and a `plan` diffs our
output line by line, so the output must be stable: keys in insertion order, block style, and every string
that a YAML 1.1 reader (SnakeYAML in the engine, PyYAML in compose) could take for something else quoted.
Only dict, list, str, int, bool and None are written; anything else is a programming error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

__all__ = ["dump", "dump_all", "scalar"]

# Plain scalars we leave unquoted: names, paths, host:port, dotted keys. Anything else is quoted.
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./@-]*(?::[0-9]+)?")  # fullmatch: `$` would let a final newline through
# YAML 1.1 words that read as booleans or null.
_KEYWORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"}
# Characters left to escape after JSON quoting: those outside YAML's printable set (DEL, C1 controls,
# surrogates, which JSON keeps as they are), the Unicode line breaks (NEL, U+2028, U+2029: YAML folds
# them inside quotes) and the byte order mark.
_NOT_PRINTABLE = re.compile(
    "[^\\x20-\\x7e\\xa0-\\u2027\\u202a-\\ud7ff\\ue000-\\ufefe\\uff00-\\ufffd\\U00010000-\\U0010ffff]"
)


def scalar(value: object) -> str:
    """One scalar as YAML text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and value.lower() not in _KEYWORDS:
            return value
        # A JSON string is a valid YAML double-quoted scalar once the non-printable characters are escaped.
        quoted = json.dumps(value, ensure_ascii=False)
        return _NOT_PRINTABLE.sub(lambda m: _escape(m.group()), quoted)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _lines(value: object, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, Mapping):
        if not value:
            return [pad + "{}"]
        out: list[str] = []
        for key, item in value.items():
            head = f"{pad}{scalar(key)}:"
            if isinstance(item, Mapping | list | tuple) and item:
                out.append(head)
                # Lists under a key are indented like Kubernetes writes them.
                out.extend(_lines(item, indent + 2))
            else:
                out.append(f"{head} {_inline(item)}")
        return out
    if isinstance(value, list | tuple):
        if not value:
            return [pad + "[]"]
        out = []
        for item in value:
            if isinstance(item, Mapping | list | tuple) and item:
                nested = _lines(item, indent + 2)
                # The first line of the nested block goes after the dash.
                out.append(f"{pad}- {nested[0].lstrip()}")
                out.extend(nested[1:])
            else:
                out.append(f"{pad}- {_inline(item)}")
        return out
    return [pad + scalar(value)]


def _inline(value: object) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    return scalar(value)


def dump(document: Mapping[str, object], *, header: str = "") -> str:
    """One document, with an optional comment header (each line prefixed with `# `)."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + "\n".join(_lines(document, 0)) + "\n"


def dump_all(documents: Sequence[Mapping[str, object]], *, header: str = "") -> str:
    """Several documents separated by `---`."""
    return "---\n".join(dump(doc, header=header if i == 0 else "") for i, doc in enumerate(documents))
