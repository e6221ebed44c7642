"""Fuzz tests of the HOCON reader that stays hand-written (controlplane/seatunnel/config/hocon.py, ADR 0020).

Its duplicate-key lexer finds the plugin keys of `source`, `transform` and `sink` in the raw text, which no library
does for us. Two properties: on any text it fails only with the job-config parse error (a DomainError with a stable
code), never with another exception; and on generated documents without duplicate keys, written in the many ways
HOCON allows, it reads what pyhocon reads (plugin blocks as lists, in file order).
"""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyhocon import ConfigFactory
from pyhocon.config_tree import ConfigTree

from controlplane.errors import DomainError
from controlplane.seatunnel.config.hocon import KINDS, load_hocon, parse_hocon

CODES = {"JOB_CONFIG_PARSE_ERROR", "JOB_CONFIG_INCLUDE_FORBIDDEN"}


# pyhocon builds its grammar on every parse (a tenth of a second; a load_hocon call parses up to four times), so
# the example counts keep each test under about ten seconds on a busy two-core machine.
def _examples(count: int) -> settings:
    return settings(max_examples=count, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- any text ------------------------------------------------------------------------------------------------------

# HOCON's own pieces, so that random text often gets deep into the lexer and the parser instead of failing at once.
_TOKENS = [
    "{", "}", "[", "]", "=", ":", "+=", ",", "\n", " ", "\t", '"', '"""', "'", "\\", "#", "//", "${", "${?", ".",
    "source", "transform", "sink", "env", "Console", "FakeSource", "include ", 'include "x"', "required(", "a", "b",
    "1", "-2.5", "true", "null", "é", "\x00",
]  # fmt: skip
_hocon_ish = st.lists(st.sampled_from(_TOKENS), max_size=40).map("".join)


def _only_domain_errors(read: Any, text: str) -> None:
    try:
        read(text)
    except DomainError as exc:
        assert exc.code in CODES, exc.code
        assert str(exc).startswith(f"{exc.code}: ")


@_examples(80)
@given(text=st.one_of(_hocon_ish, st.text(max_size=200)))
def test_any_text_is_read_or_refused_with_a_job_config_error(text):
    _only_domain_errors(load_hocon, text)
    _only_domain_errors(parse_hocon, text)


# --- valid documents without duplicates ----------------------------------------------------------------------------

_keys = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True).filter(
    lambda key: key not in {"include", "true", "false", "null"}
)
_plugin_names = st.from_regex(r"[A-Z][A-Za-z0-9]{0,9}", fullmatch=True)
# not empty: pyhocon reads [""] as []
_strings = st.text(alphabet=string.ascii_letters + string.digits + " _-.:/@", min_size=1, max_size=12)
_scalars = st.one_of(st.integers(min_value=-(10**9), max_value=10**9), st.booleans(), _strings)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=3)),
    max_leaves=4,
)
_objects = st.dictionaries(_keys, _values, max_size=3)
_documents = st.fixed_dictionaries(
    {},
    optional={
        "env": _objects,
        **{kind: st.dictionaries(_plugin_names, _objects, max_size=2) for kind in KINDS},
    },
)


def _render(value: Any, draw: Any, depth: int = 0) -> str:
    """HOCON for a value, each syntactic choice drawn: quoting, separators, commas or newlines, comments."""
    pad = "  " * depth
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        joiner = draw(st.sampled_from([", ", ",", ",\n" + pad + "  ", "\n" + pad + "  "]))
        return "[" + joiner.join(_render(item, draw, depth + 1) for item in value) + "]"
    return "{" + _entries(value, draw, depth + 1) + ("\n" + pad if value else "") + "}"


def _entries(mapping: dict, draw: Any, depth: int) -> str:
    pad = "  " * depth
    lines = []
    for key, value in mapping.items():
        name = json.dumps(key) if draw(st.booleans()) else key
        if isinstance(value, dict):
            separator = draw(st.sampled_from([" ", " = ", ": ", "="]))
        else:
            separator = draw(st.sampled_from([" = ", ": ", "=", ":"]))
        comment = draw(st.sampled_from(["", "", " # note", " // note"]))
        lines.append(f"{pad}{name}{separator}{_render(value, draw, depth)}{comment}")
    # entries end with a newline, or a comma and a newline (not after a comment, which would swallow the comma)
    ends = [
        "" if index == len(lines) - 1 or "#" in line or "//" in line else draw(st.sampled_from(["", ","]))
        for index, line in enumerate(lines)
    ]
    return "".join("\n" + line + end for line, end in zip(lines, ends, strict=True))


def _plain(value: Any) -> Any:
    if isinstance(value, ConfigTree | dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _as_plugin_lists(document: dict) -> dict:
    """What load_hocon gives for a document read by pyhocon: each non-empty plugin block as a list in file order."""
    out = dict(document)
    for kind in KINDS:
        block = out.get(kind)
        if isinstance(block, dict) and block:
            out[kind] = [{"plugin_name": name, **options} for name, options in block.items()]
    return out


@_examples(20)
@given(document=_documents, braces=st.booleans(), data=st.data())
def test_documents_without_duplicates_read_as_pyhocon_reads_them(document, braces, data):
    body = _entries(document, data.draw, 0) if document else ""
    text = "{" + body + "\n}" if braces else body
    by_pyhocon = _plain(ConfigFactory.parse_string(text).as_plain_ordered_dict())
    assert by_pyhocon == document  # the generator writes what it means: the oracle agrees with the data
    assert parse_hocon(text) == by_pyhocon
    assert load_hocon(text) == _as_plugin_lists(by_pyhocon)


@_examples(12)
@given(kind=st.sampled_from(KINDS), name=_plugin_names, first=_objects, second=_objects, data=st.data())
def test_a_repeated_plugin_stays_two_entries_where_pyhocon_merges_them(kind, name, first, second, data):
    text = f"{kind} {{{_entries({name: first}, data.draw, 1)}\n{_entries({name: second}, data.draw, 1)}\n}}"
    assert load_hocon(text)[kind] == [{"plugin_name": name, **first}, {"plugin_name": name, **second}]
    merged = _plain(ConfigFactory.parse_string(text).as_plain_ordered_dict())[kind]
    assert list(merged) == [name]  # what a plain HOCON reader makes of it: one plugin
