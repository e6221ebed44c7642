"""Reading job configs: HOCON, JSON, YAML and SQL, with format detection; keeps the text as given."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from controlplane.seatunnel.config.errors import JobConfigFormatUnsupported, JobConfigParseError
from controlplane.seatunnel.config.hocon import load_hocon
from controlplane.seatunnel.config.normal import canonical_json, normalise
from controlplane.seatunnel.config.sql import load_sql, looks_like_sql
from controlplane.seatunnel.config.variables import check_references

FORMATS = ("hocon", "json", "yaml", "sql")
_ALIASES = {"conf": "hocon", "config": "hocon", "hocon": "hocon", "json": "json", "yaml": "yaml", "yml": "yaml"}
_YAML_BLOCK_KEY = re.compile(r"^[A-Za-z_][\w.-]*\s*:\s*(#.*)?$", re.MULTILINE)
_YAML_LIST_ITEM = re.compile(r"^\s*-\s+\S", re.MULTILINE)


@dataclass(frozen=True)
class ParsedConfig:
    format: str
    text: str
    normalised: dict[str, Any] = field(repr=False)

    @property
    def json_text(self) -> str:
        """Canonical JSON (engine REST shape, sorted keys)."""
        return canonical_json(self.normalised)


def _strip_hash_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", "//")))


def detect_format(text: str) -> str:
    """Best guess among hocon/json/yaml/sql; HOCON is the fallback (it is also a superset of JSON)."""
    body = _strip_hash_comments(text).strip()
    if body.startswith(("{", "[")):
        try:
            json.loads(text)
        except ValueError:
            return "hocon"
        return "json"
    if looks_like_sql(text):
        return "sql"
    if _YAML_LIST_ITEM.search(body) or (_YAML_BLOCK_KEY.search(body) and "{" not in body):
        return "yaml"
    return "hocon"


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JobConfigParseError(
            f"JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            format="json",
            line=exc.lineno,
            column=exc.colno,
            reason=exc.msg,
        ) from None


def _load_yaml(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        where = f" at line {line}, column {column}" if line else ""
        raise JobConfigParseError(
            f"YAML syntax error{where}: {reason}", format="yaml", line=line, column=column, reason=reason
        ) from None


def load(text: str, fmt: str = "auto") -> tuple[str, Any]:
    """(format, raw data) of a text; raises JOB_CONFIG_PARSE_ERROR / JOB_CONFIG_FORMAT_UNSUPPORTED."""
    if not isinstance(text, str) or not text.strip():
        raise JobConfigParseError("The job config is empty.", format=fmt, line=1, column=1)
    fmt = (fmt or "auto").lower()
    if fmt == "auto":
        fmt = detect_format(text)
    elif fmt != "sql":
        if fmt not in _ALIASES:
            raise JobConfigFormatUnsupported(
                f"Unknown job config format {fmt!r}; use one of auto, {', '.join(FORMATS)}.", format=fmt
            )
        fmt = _ALIASES[fmt]
    if fmt == "json":
        return fmt, _load_json(text)
    if fmt == "yaml":
        return fmt, _load_yaml(text)
    if fmt == "sql":
        return fmt, load_sql(text)
    return fmt, load_hocon(text)


def parse_config(text: str, fmt: str = "auto", variables: list[dict[str, Any]] | None = None) -> ParsedConfig:
    """Parse and normalise; the text is kept byte for byte. Every `${name}` must name one of ``variables`` (the
    job's declared variables, config/variables.py) or carry an inline default: JOB_CONFIG_VARIABLE_UNRESOLVED."""
    detected, raw = load(text, fmt)
    try:
        normalised = normalise(raw)
        check_references(normalised, variables or [], text)
    except JobConfigParseError as exc:
        exc.details["format"] = detected
        raise
    return ParsedConfig(format=detected, text=text, normalised=normalised)
