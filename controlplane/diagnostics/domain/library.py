"""The fault fingerprint library: YAML files of fingerprints, checked strictly when loaded.

A file is a YAML list of fingerprints (``controlplane/diagnostics/fingerprints/*.yaml``; the format is
docs/DIAGNOSTICS.md). Anything the loader does not know is an error rather than something ignored: an unknown
field, a missing language, a regular expression that does not compile, an id used twice. Each error is a
``FaultLibraryInvalid`` naming the file, the fingerprint and the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from controlplane.diagnostics.domain.errors import FaultLibraryInvalid

LANGUAGES = ("en", "zh-Hans")
SEVERITIES = ("critical", "error", "warning", "info")
SCOPES = ("message", "frames")
OPS = ("<", "<=", ">", ">=", "==")
ONE_CLICK_KINDS = ("agent_action", "operation", "job_version")

_ID = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
_METRIC = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,99}$")
# Constructs that let a pattern backtrack without bound on a long line: a quantified group that is itself
# quantified, such as (a+)+ or (\w*)*. Patterns are run line by line over lines of at most MAX_LINE characters
# (matcher.py), and these are refused outright.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]")
MAX_PATTERN = 400

FINGERPRINT_FIELDS = {"id", "title", "severity", "rules", "conditions", "explanation", "fix", "one_click", "refs"}
REQUIRED_FIELDS = ("id", "title", "severity", "rules", "explanation", "fix")
RULE_FIELDS = {"pattern", "weight", "scope", "any_level"}
CONDITION_FIELDS = {"metric", "op", "value", "than"}
ONE_CLICK_FIELDS = {"kind", "type", "params"}


@dataclass(frozen=True)
class Rule:
    """One regular expression. ``weight`` (0 < w <= 1) is what a hit in a root cause is worth; ``scope``
    ``message`` matches exception and log messages, ``frames`` the ``at …`` lines of a stack trace; ``any_level``
    keeps full weight on an INFO or DEBUG log line (for faults the engine reports at INFO)."""

    pattern: re.Pattern[str]
    weight: float = 1.0
    scope: str = "message"
    any_level: bool = False
    needle: str = ""  # a literal every match contains (``needle_of``): a line without it is skipped unsearched


@dataclass(frozen=True)
class Condition:
    """A metric condition: ``metric op value`` or ``metric op than`` (another metric). A fingerprint with
    conditions matches only when every condition holds for the metrics given to the matcher."""

    metric: str
    op: str
    value: float | None = None
    than: str | None = None

    def holds(self, metrics: Mapping[str, float]) -> bool:
        left = metrics.get(self.metric)
        right = metrics.get(self.than) if self.than is not None else self.value
        if left is None or right is None:
            return False
        return {
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
            "==": left == right,
        }[self.op]


@dataclass(frozen=True)
class OneClick:
    """A reference to the one-click fix: an allowlisted agent action type or an operation type, by name, and its
    parameters. Only the reference lives here; running it is an operation, confirmed and audited."""

    kind: str
    type: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fingerprint:
    id: str
    title: Mapping[str, str]
    severity: str
    rules: tuple[Rule, ...]
    explanation: Mapping[str, str]
    fix: Mapping[str, str]
    conditions: tuple[Condition, ...] = ()
    one_click: OneClick | None = None
    refs: tuple[str, ...] = ()
    file: str = ""

    def text(self, part: str, language: str) -> str:
        """``title``, ``explanation`` or ``fix`` in ``language`` (``en``, ``zh-Hans``; English otherwise)."""
        texts: Mapping[str, str] = getattr(self, part)
        return texts.get(language) or texts["en"]


@dataclass(frozen=True)
class Library:
    fingerprints: tuple[Fingerprint, ...]

    def get(self, fingerprint_id: str) -> Fingerprint | None:
        return next((f for f in self.fingerprints if f.id == fingerprint_id), None)

    def __len__(self) -> int:
        return len(self.fingerprints)


def load_directory(directory: Path) -> Library:
    """Every ``*.yaml`` file of ``directory``, in name order."""
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise FaultLibraryInvalid("no fingerprint files (*.yaml)", file=str(directory))
    texts: dict[str, str] = {}
    for path in files:
        try:
            texts[path.name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise FaultLibraryInvalid(f"cannot be read: {error}", file=path.name) from error
    return parse_library(texts)


def parse_library(files: Mapping[str, str]) -> Library:
    """Fingerprints from YAML texts by file name; every file checked, ids unique across files."""
    found: list[Fingerprint] = []
    seen: dict[str, str] = {}
    for name, text in files.items():
        for fingerprint in parse_file(name, text):
            if fingerprint.id in seen:
                raise FaultLibraryInvalid(
                    f"duplicate id (also in {seen[fingerprint.id]})", file=name, fingerprint=fingerprint.id, field="id"
                )
            seen[fingerprint.id] = name
            found.append(fingerprint)
    return Library(tuple(found))


def parse_file(name: str, text: str) -> list[Fingerprint]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise FaultLibraryInvalid(f"is not valid YAML: {error}", file=name) from error
    if not isinstance(data, list) or not data:
        raise FaultLibraryInvalid("must be a non-empty YAML list of fingerprints", file=name)
    return [_fingerprint(name, index, item) for index, item in enumerate(data)]


def _fingerprint(file: str, index: int, item: Any) -> Fingerprint:
    label = f"#{index + 1}"
    if not isinstance(item, dict):
        raise FaultLibraryInvalid("a fingerprint must be a mapping", file=file, fingerprint=label)
    if isinstance(item.get("id"), str):
        label = item["id"]

    def fail(message: str, at: str) -> FaultLibraryInvalid:
        return FaultLibraryInvalid(message, file=file, fingerprint=label, field=at)

    unknown = sorted(set(item) - FINGERPRINT_FIELDS)
    if unknown:
        raise fail(f"unknown field (known: {', '.join(sorted(FINGERPRINT_FIELDS))})", str(unknown[0]))
    for required in REQUIRED_FIELDS:
        if required not in item:
            raise fail("missing", required)
    if not isinstance(item["id"], str) or not _ID.match(item["id"]):
        raise fail("must be 3-64 characters of a-z, 0-9 and _, starting with a letter", "id")
    texts = {part: _texts(item[part], part, fail) for part in ("title", "explanation", "fix")}
    if item["severity"] not in SEVERITIES:
        raise fail(f"must be one of {', '.join(SEVERITIES)}", "severity")
    rules = item["rules"]
    if not isinstance(rules, list) or not rules:
        raise fail("must be a non-empty list of rules", "rules")
    conditions = item.get("conditions", [])
    if not isinstance(conditions, list):
        raise fail("must be a list", "conditions")
    refs = item.get("refs", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise fail("must be a list of strings", "refs")
    return Fingerprint(
        id=item["id"],
        title=texts["title"],
        severity=item["severity"],
        rules=tuple(_rule(rule, f"rules[{i}]", fail) for i, rule in enumerate(rules)),
        explanation=texts["explanation"],
        fix=texts["fix"],
        conditions=tuple(_condition(c, f"conditions[{i}]", fail) for i, c in enumerate(conditions)),
        one_click=_one_click(item["one_click"], fail) if item.get("one_click") is not None else None,
        refs=tuple(refs),
        file=file,
    )


def _texts(value: Any, at: str, fail: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise fail(f"must be a mapping of languages ({', '.join(LANGUAGES)}) to text", at)
    unknown = sorted(set(value) - set(LANGUAGES))
    if unknown:
        raise fail(f"unknown language (known: {', '.join(LANGUAGES)})", f"{at}.{unknown[0]}")
    for language in LANGUAGES:
        text = value.get(language)
        if not isinstance(text, str) or not text.strip():
            raise fail("missing language", f"{at}.{language}")
    return {language: value[language].strip() for language in LANGUAGES}


def _rule(value: Any, at: str, fail: Any) -> Rule:
    if isinstance(value, str):
        value = {"pattern": value}
    if not isinstance(value, dict):
        raise fail("a rule is a pattern or a mapping with `pattern`", at)
    unknown = sorted(set(value) - RULE_FIELDS)
    if unknown:
        raise fail(f"unknown field (known: {', '.join(sorted(RULE_FIELDS))})", f"{at}.{unknown[0]}")
    pattern = value.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise fail("missing", f"{at}.pattern")
    if len(pattern) > MAX_PATTERN:
        raise fail(f"longer than {MAX_PATTERN} characters", f"{at}.pattern")
    if _NESTED_QUANTIFIER.search(pattern):
        raise fail("a quantified group inside a quantifier can backtrack without bound", f"{at}.pattern")
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise fail(f"is not a valid regular expression: {error}", f"{at}.pattern") from error
    weight = value.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 1:
        raise fail("must be a number above 0 and at most 1", f"{at}.weight")
    scope = value.get("scope", "message")
    if scope not in SCOPES:
        raise fail(f"must be one of {', '.join(SCOPES)}", f"{at}.scope")
    any_level = value.get("any_level", False)
    if not isinstance(any_level, bool):
        raise fail("must be true or false", f"{at}.any_level")
    return Rule(compiled, float(weight), scope, any_level, needle_of(pattern))


_FLAG_GROUP = re.compile(r"(?<!\\)\(\?[aiLmsux-]+[):]")  # (?i) and the like change what a literal matches
_LITERAL_ESCAPES = set(".[](){}*+?^$|\\/-'\"#:=!<>,&%@ ")


def needle_of(pattern: str) -> str:
    """The longest run of literal characters outside any group that every match of ``pattern`` contains, or ""
    when there is none of four characters or more (or an alternation at the top level, or a flag group).
    Matching tests ``needle in line`` before running the expression, so most lines of a log cost a substring
    search."""
    if _FLAG_GROUP.search(pattern):
        return ""
    runs: list[str] = []
    current: list[str] = []
    depth = 0
    i = 0
    while i < len(pattern):
        char = pattern[i]
        literal: str | None = None
        width = 1
        if char == "\\" and i + 1 < len(pattern):
            width = 2
            if pattern[i + 1] in _LITERAL_ESCAPES:
                literal = pattern[i + 1]
        elif char == "|" and depth == 0:
            return ""  # an alternation at the top level: no literal is in every match
        elif char not in ".^$*+?{}[]()|":
            literal = char
        following = pattern[i + width] if i + width < len(pattern) else ""
        if literal is not None and (depth > 0 or following in ("?", "*", "{")):
            literal = None  # inside a group, optional or repeated: not in every match
        if literal is None:
            runs.append("".join(current))
            current = []
            if char == "[":  # skip a character class whole
                i = _class_end(pattern, i)
                continue
            depth += 1 if char == "(" else -1 if char == ")" else 0
        else:
            current.append(literal)
        i += width
    runs.append("".join(current))
    best = max(runs, key=len)
    return best if len(best) >= 4 else ""


def _class_end(pattern: str, start: int) -> int:
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


def _condition(value: Any, at: str, fail: Any) -> Condition:
    if not isinstance(value, dict):
        raise fail("a condition is a mapping", at)
    unknown = sorted(set(value) - CONDITION_FIELDS)
    if unknown:
        raise fail(f"unknown field (known: {', '.join(sorted(CONDITION_FIELDS))})", f"{at}.{unknown[0]}")
    metric = value.get("metric")
    if not isinstance(metric, str) or not _METRIC.match(metric):
        raise fail("missing or not a metric name", f"{at}.metric")
    if value.get("op") not in OPS:
        raise fail(f"must be one of {' '.join(OPS)}", f"{at}.op")
    has_value, has_than = "value" in value, "than" in value
    if has_value == has_than:
        raise fail("give exactly one of `value` (a number) and `than` (another metric)", at)
    if has_value and (isinstance(value["value"], bool) or not isinstance(value["value"], int | float)):
        raise fail("must be a number", f"{at}.value")
    if has_than and (not isinstance(value["than"], str) or not _METRIC.match(value["than"])):
        raise fail("must be a metric name", f"{at}.than")
    return Condition(
        metric, value["op"], float(value["value"]) if has_value else None, value["than"] if has_than else None
    )


def _one_click(value: Any, fail: Any) -> OneClick:
    if not isinstance(value, dict):
        raise fail("must be a mapping with `kind`, `type` and `params`", "one_click")
    unknown = sorted(set(value) - ONE_CLICK_FIELDS)
    if unknown:
        raise fail(f"unknown field (known: {', '.join(sorted(ONE_CLICK_FIELDS))})", f"one_click.{unknown[0]}")
    if value.get("kind") not in ONE_CLICK_KINDS:
        raise fail(f"must be one of {', '.join(ONE_CLICK_KINDS)}", "one_click.kind")
    if not isinstance(value.get("type"), str) or not value["type"]:
        raise fail("missing", "one_click.type")
    params = value.get("params", {})
    if not isinstance(params, dict):
        raise fail("must be a mapping", "one_click.params")
    return OneClick(value["kind"], value["type"], params)


def one_click_references(library: Library) -> Iterable[tuple[Fingerprint, OneClick]]:
    for fingerprint in library.fingerprints:
        if fingerprint.one_click is not None:
            yield fingerprint, fingerprint.one_click
