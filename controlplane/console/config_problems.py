"""Where a job config's problems are, for the console's config forms: each problem of the jobs app's validation
(``JOB_CONFIG_INVALID``'s ``problems``: code, path, message, details) placed at a line of the pasted text, and the
text as a numbered listing with those lines marked. Pure: no Django.

A parse error carries its line (``details["line"]``, from the HOCON, JSON or YAML reader) and so does an unresolved
variable; any other problem has a path (``env.job.mode``, ``source[0].FakeSorce``, ``sink[0].Console.plugin_input``),
which is looked up in the text: the kind's block, then the plugin's name, then the option's key after it. That
look-up reads lines, not the syntax, so it may miss (a key spelt differently than the path): such a problem, and
one of a part the text does not have (``JOB_CONFIG_NO_SINK``), has no line and is listed above the text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_PATH = re.compile(r"^(?P<kind>env|source|transform|sink)(?:\[\d+\]\.(?P<plugin>[^.]+))?(?:\.(?P<key>.+))?$")


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    problems: list[dict[str, Any]] = field(default_factory=list)


def _find(lines: list[str], start: int, word: str) -> int | None:
    """The index of the first line from ``start`` on holding ``word`` as a whole token (not inside a longer name)."""
    token = re.compile(rf"(?<![\w.-]){re.escape(word)}(?![\w-])")
    return next((i for i in range(start, len(lines)) if token.search(lines[i])), None)


def _key_line(lines: list[str], start: int, key: str) -> int | None:
    """A key as written (``row.num``), else its last part (``fields->age`` -> ``age``, ``job.mode`` nested)."""
    found = _find(lines, start, key)
    if found is None:
        last = re.split(r"->|\.", key)[-1]
        found = _find(lines, start, last) if last != key else None
    return found


def problem_line(text: str, problem: dict[str, Any]) -> int | None:
    """The 1-based line a problem is at, or None when it cannot be placed."""
    line = (problem.get("details") or {}).get("line")
    lines = text.splitlines()
    if isinstance(line, int) and line >= 1:
        return min(line, max(len(lines), 1))  # an error at the end of the text: its last line
    match = _PATH.match(str(problem.get("path") or ""))
    if match is None:
        return None
    at = _find(lines, 0, match["kind"])
    if at is None:
        return None
    for part in (match["plugin"], match["key"]):
        if part:
            found = _key_line(lines, at, part)
            if found is None:
                break
            at = found
    return at + 1


def listing(text: str, problems: list[dict[str, Any]]) -> tuple[list[Line], list[dict[str, Any]]]:
    """The text's lines, numbered from 1, each with the problems placed there; and the problems with no line."""
    at: dict[int, list[dict[str, Any]]] = {}
    unplaced = []
    for problem in problems:
        line = problem_line(text, problem)
        if line is None:
            unplaced.append(problem)
        else:
            at.setdefault(line, []).append(problem)
    lines = [Line(number, body, at.get(number, [])) for number, body in enumerate(text.splitlines() or [""], start=1)]
    return lines, unplaced
