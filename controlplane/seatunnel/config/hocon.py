"""HOCON reading the way SeaTunnel reads it.

SeaTunnel's shaded Typesafe Config parser turns every entry of the top-level `source`, `transform` and `sink` objects
into one list element (keeping order and duplicates: `sink { Console {} Console {} }` is two sinks). A plain HOCON
parser (pyhocon) would merge the two `Console` blocks, so before parsing we give each plugin entry of those blocks a
unique marker key and map it back afterwards.

Nothing outside the text is ever read (docs/SECURITY.md, "Job configs cannot reach the host"): pyhocon would load
`include` files and URLs and fall back to the process environment for a `${name}` that is not a path of the config.
So includes are refused before pyhocon sees the text, and a substitution that does not point at another value of the
config is kept as the literal text `${name}`: a job variable reference (config/variables.py), filled in at
submission from the job's declared variables.

Dotted keys are flat. SeaTunnel's shaded parser splits paths on `->` (`ConfigParseOptions.PATH_TOKEN_SEPARATOR`,
`PathParser`), not on `.`, so `checkpoint.interval = 5000` and `"checkpoint.interval" = 5000` are both the one key
`checkpoint.interval`. pyhocon splits unquoted keys on `.`, so every unquoted dotted key is quoted before pyhocon
reads the text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pyhocon.config_parser import ConfigParser
from pyhocon.config_tree import ConfigTree, ConfigValues
from pyhocon.exceptions import ConfigException, ConfigMissingException, ConfigSubstitutionException
from pyparsing import ParseBaseException

from controlplane.seatunnel.config.errors import JobConfigIncludeForbidden, JobConfigParseError

KINDS = ("source", "transform", "sink")
_MARKER = "__seatunnel_plugin_{}__"
_MARKER_RE = re.compile(r"^__seatunnel_plugin_(\d+)__$")
_POSITION_RE = re.compile(r"line:\s*(\d+),\s*col:\s*(\d+)")
_UNQUOTED_STOP = set(" \t\r\n{}[]=:,#\"'")
# every include form of pyhocon or Typesafe Config: include "x", include url/file/classpath/package(..),
# include required(..); matched on the text with strings and comments blanked, before any parsing
_INCLUDE_RE = re.compile(r"(?<![\w.$-])include\s*(\"|(?:required|url|file|classpath|package)\s*\()", re.IGNORECASE)
_SUBSTITUTION_RE = re.compile(r"\$\{[^}]+\}")


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
    return _key_spans(text)[0]


def _key_spans(text: str) -> tuple[list[tuple[int, int, str]], list[tuple[int, int, str]]]:
    """(plugin key spans, every key span): the keys that open a plugin object directly inside a top-level
    source/transform/sink, and the spans of all keys of all objects (quoted ones with their quotes)."""
    i, n = 0, len(text)
    stack: list[tuple[str, str | None]] = []  # ("obj" | "arr", key)
    explicit_root = text.lstrip().startswith("{")  # also true for JSON-like HOCON
    pending: tuple[int, int, str] | None = None  # candidate key of the current entry
    separator_seen = False
    value_seen = False  # a scalar value followed the separator: the entry ends at the next newline
    entry_start = True
    spans: list[tuple[int, int, str]] = []
    keys: list[tuple[int, int, str]] = []

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
                quoted_key = raw[3:-3] if raw.startswith('"""') else raw[1:-1]
                pending, separator_seen = (i, end, quoted_key), False
            elif separator_seen:
                value_seen = True
            entry_start = False
            i = end
            continue
        if text.startswith("${", i):
            close = text.find("}", i)
            i = n if close < 0 else close + 1
            value_seen = value_seen or separator_seen
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
            if pending is not None and not separator_seen:
                keys.append(pending)
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
            if pending is not None and not separator_seen:
                keys.append(pending)
            separator_seen = True
            i += 2 if c == "+" else 1
            entry_start = False
            continue
        if c == ",":
            pending, entry_start = None, True
            i += 1
            continue
        if c == "\n":
            if separator_seen and value_seen:  # `key = value` ended: the next line starts an entry
                pending, separator_seen, value_seen = None, False, False
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
            value_seen = value_seen or separator_seen
        entry_start = False
        i = j
    return spans, keys


def quote_dotted_keys(text: str) -> str:
    """The text with every unquoted key that holds a `.` written as one quoted key (see the module's note)."""
    rewritten = text
    for start, end, key in reversed(_key_spans(text)[1]):
        if text[start] != '"' and "." in key:
            rewritten = rewritten[:start] + json.dumps(key) + rewritten[end:]
    return rewritten


def _code_only(text: str) -> str:
    """The text with the inside of every quoted string and every comment blanked (same length, quotes kept)."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        if text[i] == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out[i:end] = " " * (end - i)
            i = end
        elif text[i] == '"':
            end = _skip_string(text, i)
            out[i + 1 : end] = " " * (end - i - 1)
            i = end
        else:
            i += 1
    return "".join(out)


def refuse_includes(text: str) -> None:
    """JOB_CONFIG_INCLUDE_FORBIDDEN for the first include of any form; nothing is read."""
    match = _INCLUDE_RE.search(_code_only(text))
    if match is None:
        return
    line, column = _position(text, match.start())
    raise JobConfigIncludeForbidden(
        f"HOCON include at line {line}, column {column}: a job config cannot include files, URLs or resources.",
        format="hocon",
        line=line,
        column=column,
    )


class _TextOnlyParser(ConfigParser):
    """pyhocon without its environment fallback: a substitution resolves to a path of the config or fails.
    (`_pin_variables` already turned every other one into a literal; this is the second lock.)"""

    @classmethod
    def _resolve_variable(cls, config: ConfigTree, substitution: Any) -> tuple[bool, Any]:
        try:
            return True, config.get(substitution.variable)
        except ConfigMissingException:
            if substitution.optional:
                return False, None
            raise ConfigSubstitutionException(f"Cannot resolve variable ${{{substitution.variable}}}") from None


def _found(tree: ConfigTree, variable: str) -> Any:
    try:
        return tree.get(variable, None)
    except ConfigException:
        return None


def _is_job_variable(tree: ConfigTree, variable: str, root_key: str) -> bool:
    """Does this substitution name something outside the config? pyhocon reads the environment for a path that is
    missing, and for a reference to the root key it sits under that is missing or a single segment (its
    self-reference fix-up); both are job variables here."""
    path = [part.strip('"') for part in ConfigTree.parse_key(variable)]
    found = _found(tree, variable)
    if path[0] == root_key:
        return len(path) == 1 or found is None
    if found is not None:
        return False
    node: Any = tree
    for part in path:  # a path through a value still to be resolved (`g = ${b} {z = 1}`, `${g.z}`) is internal
        if isinstance(node, ConfigValues):
            return False
        if not isinstance(node, ConfigTree) or part not in node:
            return True
        node = node[part]
    return True


def _pin_variables(tree: Any, text: str) -> str | None:
    """``text`` (what ``tree`` was parsed from) with each job variable substitution written as a quoted literal;
    None when there is none. Positions are read against ``text``: a substitution's own ``instring`` is not always
    the text (pyhocon leaves a bool there in some self-references, found by the fuzz test)."""
    if not isinstance(tree, ConfigTree):
        return None
    pinned: dict[int, str] = {}
    for root_key in tree:
        for item in tree.history.get(root_key, [tree[root_key]]):
            for substitution in ConfigParser._find_substitutions(item):
                if _is_job_variable(tree, substitution.variable, str(root_key)):
                    pinned[substitution.loc] = substitution.variable
    if not pinned:
        return None
    for loc in sorted(pinned, reverse=True):
        match = _SUBSTITUTION_RE.search(text, loc)
        if match is None:  # pyhocon placed it elsewhere (seen only in fuzzed, malformed text): refuse, never guess
            raise JobConfigParseError(
                "HOCON syntax error: a substitution cannot be located in the text",
                format="hocon",
                reason="substitution",
            )
        text = text[: match.start()] + json.dumps(match[0]) + text[match.end() :]
    return text


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


def _tree(text: str) -> Any:
    refuse_includes(text)
    tree = _TextOnlyParser.parse(text, resolve=False)
    pinned = _pin_variables(tree, text)
    if pinned is not None:
        return _TextOnlyParser.parse(pinned)
    _TextOnlyParser.resolve_substitutions(tree, False)  # what parse(text) does after parsing: no second parse
    return tree


def _parse(text: str) -> dict[str, Any]:
    try:
        tree = _tree(quote_dotted_keys(text))
    except (ConfigException, ParseBaseException) as exc:
        try:  # report the error against the text as given, where its positions point
            _tree(text)
        except (ConfigException, ParseBaseException) as original:
            raise _parse_error(text, original) from None
        except RecursionError:
            pass
        raise _parse_error(text, exc) from None
    except RecursionError:
        raise JobConfigParseError("HOCON nesting is too deep.", format="hocon", line=None, column=None) from None
    if not isinstance(tree, ConfigTree):
        raise JobConfigParseError("A job config must be an object at the top level.", format="hocon", line=1, column=1)
    plain: dict[str, Any] = _plain(tree.as_plain_ordered_dict())
    return plain


def parse_hocon(text: str) -> dict[str, Any]:
    """Plain data of a HOCON text as pyhocon merges it (no plugin lists), reading nothing outside the text."""
    return _parse(text)


def load_hocon(text: str) -> dict[str, Any]:
    """Parse HOCON into plain data; plugin blocks become lists of `{"plugin_name": ..., **options}` in file order."""
    spans = _plugin_key_spans(text)
    if not spans:
        return _parse(text)
    names: dict[str, str] = {}
    rewritten = text
    for index, (start, end, key) in reversed(list(enumerate(spans))):
        marker = _MARKER.format(index)
        names[marker] = key
        rewritten = rewritten[:start] + '"' + marker + '"' + rewritten[end:]
    try:
        data = _parse(rewritten)
    except JobConfigParseError:
        # the text's own error, reported against the text as given; or a scanner blind spot: the plain reading
        return _parse(text)
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
