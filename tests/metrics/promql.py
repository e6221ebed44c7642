"""The metric names a PromQL expression reads, and the names we may read: the control plane's live /metrics and the
engine metrics docs/METRICS.md lists (from ZETA_FACTS §7)."""

from __future__ import annotations

import re

from tests.metrics.scrape import DOC

KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"inf", "nan", "Inf", "NaN", "atan2"}
)
PROMETHEUS_OWN = frozenset({"up"})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_OFFSET = re.compile(r"\boffset\s+-?\d+[smhdwy]+")
_IDENT = re.compile(r"(?<![\w.:$])[a-zA-Z_:][a-zA-Z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """Identifiers that are metric selectors: not functions, aggregations, keywords, label names or strings."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub("", text)
    text = _OFFSET.sub("", text)
    names = set()
    for match in _IDENT.finditer(text):
        word = match.group(0)
        if word in KEYWORDS or text[match.end() :].lstrip().startswith("("):
            continue
        names.add(word)
    return names


def engine_metrics() -> set[str]:
    """The first column of docs/METRICS.md's engine table."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Engine metrics used by the rules and dashboards") :]
    section = section[: section.index("\n## ")]
    names: set[str] = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            names.update(re.findall(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)`", cells[0]))
    return names
