"""HOCON reading the way SeaTunnel reads it.

SeaTunnel's shaded Typesafe Config parser turns every entry of the top-level `source`, `transform` and `sink` objects
into one list element (keeping order and duplicates: `sink { Console {} Console {} }` is two sinks). A plain HOCON
parser (pyhocon) would merge the two `Console` blocks, so before parsing we give each plugin entry of those blocks a
unique marker key and map it back afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pyhocon import ConfigFactory
from pyhocon.exceptions import ConfigException
from pyparsing import ParseBaseException

from controlplane.seatunnel.config.errors import JobConfigParseError

KINDS = ("source", "transform", "sink")
_MARKER = "__seatunnel_plugin_{}__"
_MARKER_RE = re.compile(r"^__seatunnel_plugin_(\d+)__$")
_POSITION_RE = re.compile(r"line:\s*(\d+),\s*col:\s*(\d+)")
_UNQUOTED_STOP = set(" \t\r\n{}[]=:,#\"'")


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _skip_string(text: str, i: int) -> int:
    """Index just past the quoted string starting at text[i] (single or triple quoted)."""
    if text.startswith('"""', i):
        end = text.find('"""', i + 3)
        if end < 0:
            return len(text)
        end += 3
        while end < len(text) and text[end] == '"':  # `""""` closes with the last three quotes
            end += 1
        return end
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == '"' or text[j] == "\n":
            return j + 1
        j += 1
    return j


def _plugin_key_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, key) of every key that opens a plugin object directly inside a top-level source/transform/sink."""
    i, n = 0, len(text)
    stack: list[tuple[str, str | None]] = []  # ("obj" | "arr", key)
    explicit_root = text.lstrip().startswith("{")  # also true for JSON-like HOCON
    pending: tuple[int, int, str] | None = None  # candidate key of the current entry
    separator_seen = False
    entry_start = True
    spans: list[tuple[int, int, str]] = []

    def in_object() -> bool:
        return not stack or stack[-1][0] == "obj"

    while i < n:
        c = text[i]
        if c == "#" or text.startswith("//", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline
            continue
        if c == '"':
            end = _skip_string(text, i)
            if entry_start and in_object():
                raw = text[i:end]
                key = raw[3:-3] if raw.startswith('"""') else raw[1:-1]
                pending, separator_seen = (i, end, key), False
            entry_start = False
            i = end
            continue
        if text.startswith("${", i):
            close = text.find("}", i)
            i = n if close < 0 else close + 1
            entry_start = False
            continue
        if c == "{":
            key = pending[2] if pending else None
            objects = [frame for frame in stack if frame[0] == "obj"]
            parent_is_kind = len(stack) == len(objects) and (
                (not explicit_root and len(stack) == 1 and stack[0][1] in KINDS)
                or (explicit_root and len(stack) == 2 and stack[1][1] in KINDS)
            )
            if parent_is_kind and pending is not None and "." not in pending[2]:
                spans.append(pending)
            stack.append(("obj", key))
            pending, separator_seen, entry_start = None, False, True
            i += 1
            continue
        if c == "}" or c == "]":
            if stack:
                stack.pop()
            pending, entry_start = None, False
            i += 1
            continue
        if c == "[":
            stack.append(("arr", None))
            pending, entry_start = None, True
            i += 1
            continue
        if c in "=:" or text.startswith("+=", i):
            separator_seen = True
            i += 2 if c == "+" else 1
            entry_start = False
            continue
        if c == ",":
            pending, entry_start = None, True
            i += 1
            continue
        if c == "\n":
            if not separator_seen:
                pending = None
            entry_start = pending is None
            i += 1
            continue
        if c in " \t\r":
            i += 1
            continue
        j = i
        while j < n and text[j] not in _UNQUOTED_STOP and not text.startswith("//", j) and not text.startswith("${", j):
            j += 1
        j = max(j, i + 1)
        if entry_start and in_object():
            pending, separator_seen = (i, j, text[i:j]), False
        else:
            pending = None if not separator_seen else pending
        entry_start = False
        i = j
    return spans


def _parse_error(text: str, exc: Exception) -> JobConfigParseError:
    line = getattr(exc, "lineno", None)
    column = getattr(exc, "col", None)
    message = str(exc)
    if line is None:
        match = _POSITION_RE.search(message)
        if match:
            line, column = int(match[1]), int(match[2])
    if isinstance(exc, ParseBaseException):
        message = exc.msg if hasattr(exc, "msg") else message
    where = f" at line {line}, column {column}" if line is not None else ""
    return JobConfigParseError(
        f"HOCON syntax error{where}: {message}", format="hocon", line=line, column=column, reason=message
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is not None and type(value).__name__ == "NoneValue":
        return None
    return value


def _parse(text: str) -> dict[str, Any]:
    try:
        tree = ConfigFactory.parse_string(text)
    except (ConfigException, ParseBaseException) as exc:
        raise _parse_error(text, exc) from None
    except RecursionError:
        raise JobConfigParseError("HOCON nesting is too deep.", format="hocon", line=None, column=None) from None
    if not isinstance(tree, Mapping):
        raise JobConfigParseError("A job config must be an object at the top level.", format="hocon", line=1, column=1)
    return _plain(tree.as_plain_ordered_dict())


def load_hocon(text: str) -> dict[str, Any]:
    """Parse HOCON into plain data; plugin blocks become lists of `{"plugin_name": ..., **options}` in file order."""
    merged = _parse(text)  # errors are reported against the text as given
    spans = _plugin_key_spans(text)
    if not spans:
        return merged
    names: dict[str, str] = {}
    rewritten = text
    for index, (start, end, key) in reversed(list(enumerate(spans))):
        marker = _MARKER.format(index)
        names[marker] = key
        rewritten = rewritten[:start] + '"' + marker + '"' + rewritten[end:]
    try:
        data = _parse(rewritten)
    except JobConfigParseError:
        return merged  # a scanner blind spot: fall back to the plain (merging) reading
    for kind in KINDS:
        block = data.get(kind)
        if not isinstance(block, dict) or not any(_MARKER_RE.match(k) for k in block):
            continue
        entries = []
        for key, value in block.items():
            plugin = names.get(key, key)
            if not isinstance(value, dict):
                raise JobConfigParseError(
                    f"{kind}.{plugin} must be an object of options.", format="hocon", path=f"{kind}.{plugin}"
                )
            entries.append({"plugin_name": plugin, **value})
        data[kind] = entries
    return data
