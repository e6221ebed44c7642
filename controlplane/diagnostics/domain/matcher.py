"""Match an error text or a log against the fault library: root cause first, and no match rather than a guess.

The text is read line by line (``split_lines``): a Java stack trace is a message (the exception class and its
message, possibly over several lines) followed by ``at …`` frames, then zero or more ``Caused by:`` sections. Each
line gets a *place*, and a rule's hit is worth its weight times the place's factor:

==================================================  ======
place                                               factor
==================================================  ======
root cause: the last ``Caused by:`` of a trace      1.0
(or the trace's first message when it has none),
or any line of a text that has no trace and no
log levels (a bare errorMsg, a REST answer)
an ERROR / FATAL / SEVERE log line, or a line       0.7
without a level in a text that has some
a wrapper: a trace's outer message or a middle      0.6
``Caused by:``
a WARN log line                                     0.5
an INFO / DEBUG / TRACE log line                    0.2
==================================================  ======

An INFO line is seen only by rules with ``any_level``, which count an INFO or WARN line as 0.7 (for faults the
engine reports at INFO); the other rules skip INFO lines, which are most of a log. A rule
with ``scope: frames`` matches the ``at …`` lines (factor 1.0) and nothing else. A fingerprint's score is its best
rule hit plus a fifth of its other rules' hits (each rule counted once, at its best place), plus 0.5 for each
metric condition (a fingerprint with conditions is left out unless every one holds). Fingerprints scoring below
``THRESHOLD`` are not reported: a wrapper or a mention in an INFO line alone never matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from controlplane.diagnostics.domain.library import Fingerprint, Library, Rule

THRESHOLD = 0.6
OTHER_RULES = 0.2  # what each further rule hit adds, as a share of its own value
CONDITION_BONUS = 0.5
MAX_LINE = 4096  # characters of a line the patterns see (a longer line is cut: bounds the work per line)
MAX_EVIDENCE = 300  # characters of the matched line reported as evidence
MAX_MESSAGE_LINES = 8  # lines of an exception message kept above its first frame
MEMO_LINES = 20_000  # distinct lines whose rule hits are remembered during one match

ROOT, PLAIN, WRAPPER, WARN, INFO = 1.0, 0.7, 0.6, 0.5, 0.2
FRAME = 1.0

_FRAME = re.compile(r"^\s*(?:at [\w$.<>/-]+\(|\.\.\. \d+ (?:more|common frames omitted)\s*$)")
_CAUSED_BY = re.compile(r"^\s*Caused by: ")
_SUPPRESSED = re.compile(r"^\s*Suppressed: ")
# A log line's level: `2024-10-23 10:00:00,123 ERROR [logger] …`, `[123] 2024-… WARN …`, `SEVERE: …`.
_LEVEL = re.compile(r"^.{0,80}?\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE)\b[\s:\]]")
_LOG_START = re.compile(r"^(?:\[[^\]]{0,40}\]\s*)?\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")
_LEVEL_FACTOR = {
    "TRACE": INFO,
    "DEBUG": INFO,
    "INFO": INFO,
    "WARN": WARN,
    "WARNING": WARN,
    "ERROR": PLAIN,
    "FATAL": PLAIN,
    "SEVERE": PLAIN,
}


@dataclass(frozen=True)
class Line:
    number: int  # 1-based
    text: str
    factor: float  # the place's worth for message rules; 0 for a frame
    frame: bool = False
    level: str = ""


@dataclass(frozen=True)
class Evidence:
    line: int
    text: str
    place: str  # root_cause | error | warning | wrapper | info | frame | text


@dataclass(frozen=True)
class Match:
    id: str
    title: str
    score: float
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)
    fingerprint: Fingerprint | None = field(default=None, compare=False, repr=False)

    def as_dict(self, *, with_evidence: bool = True) -> dict:
        found: dict = {"id": self.id, "title": self.title, "score": self.score}
        if with_evidence:
            found["evidence"] = [{"line": e.line, "text": e.text, "place": e.place} for e in self.evidence]
        return found


def split_lines(text: str) -> list[str]:
    return text.splitlines()


def classify(lines: list[str]) -> list[Line]:
    """Each line with its place: frames, the messages of each stack trace (root cause or wrapper), log lines."""
    frames = [bool(_FRAME.match(line)) for line in lines]
    levels = [_level(line) for line in lines]
    has_trace = any(frames) or any(_CAUSED_BY.match(line) for line in lines)
    has_levels = any(levels)
    factors = _sections(lines, frames, levels)
    out: list[Line] = []
    for n, line in enumerate(lines):
        if frames[n]:
            out.append(Line(n + 1, line, 0.0, frame=True))
            continue
        level = levels[n]
        if n in factors:
            # a logger's INFO line that heads a trace stays an INFO line
            factor = INFO if level in ("TRACE", "DEBUG", "INFO") else factors[n]
        elif level:
            factor = _LEVEL_FACTOR[level]
        elif has_trace or has_levels:
            factor = PLAIN
        else:
            factor = ROOT
        out.append(Line(n + 1, line, factor, level=level))
    return out


def _sections(lines: list[str], frames: list[bool], levels: list[str]) -> dict[int, float]:
    """The factor of each line that is part of a stack trace's messages: the root cause of each trace (its last
    ``Caused by:``, or its first message when it has none) ROOT, the others WRAPPER. A trace's first message is the
    lines just above its first frame (back to a log line's start, at most MAX_MESSAGE_LINES); a ``Caused by:``
    section runs from that line to the next frame."""
    n = len(lines)
    sections: list[tuple[int, int, bool]] = []  # (first line, last line, is a `Caused by:`)
    in_cause: set[int] = set()
    i = 0
    while i < n:
        if not frames[i] and (_CAUSED_BY.match(lines[i]) or _SUPPRESSED.match(lines[i])):
            j = i
            while (
                j + 1 < n
                and j - i < MAX_MESSAGE_LINES - 1
                and not frames[j + 1]
                and not _CAUSED_BY.match(lines[j + 1])
                and not _SUPPRESSED.match(lines[j + 1])
                and not _LOG_START.match(lines[j + 1])
            ):
                j += 1
            in_cause.update(range(i, j + 1))
            if _CAUSED_BY.match(lines[i]):
                sections.append((i, j, True))
            i = j + 1
            continue
        i += 1
    for first in range(1, n):
        if not frames[first] or frames[first - 1] or (first - 1) in in_cause:
            continue
        end = first - 1
        start = end
        while start > 0 and end - start < MAX_MESSAGE_LINES - 1:
            if _LOG_START.match(lines[start]) or frames[start - 1] or (start - 1) in in_cause:
                break
            start -= 1
        if start < end and _LOG_START.match(lines[start]) and levels[start] in ("TRACE", "DEBUG", "INFO"):
            start += 1  # an unrelated INFO line above a bare exception
        sections.append((start, end, False))
    sections.sort()
    factors: dict[int, float] = {}
    trace: list[tuple[int, int, bool]] = []

    def close() -> None:
        for k, (start, end, _) in enumerate(trace):
            for line in range(start, end + 1):
                factors[line] = ROOT if k == len(trace) - 1 else WRAPPER
        trace.clear()

    for section in sections:
        if not section[2]:
            close()
        trace.append(section)
    close()
    for line in in_cause:
        factors.setdefault(line, WRAPPER)  # a suppressed exception is not the cause
    return factors


def _level(line: str) -> str:
    found = _LEVEL.match(line[:200])
    if found is None:
        return ""
    # only a log line's own level, not a word inside a message: the level must come after a timestamp or a
    # bracketed prefix, or open the line (`SEVERE: …`, `ERROR …`)
    prefix = line[: found.start(1)]
    if prefix.strip() and not _LOG_START.match(line) and not prefix.lstrip().startswith("["):
        return ""
    return found.group(1)


def _place(line: Line) -> str:
    if line.frame:
        return "frame"
    if line.factor == ROOT:
        return "root_cause"
    if line.factor == WRAPPER:
        return "wrapper"
    return {"": "text", "WARN": "warning", "WARNING": "warning"}.get(
        line.level, "info" if line.level in ("TRACE", "DEBUG", "INFO") else "error"
    )


def match(
    text: str,
    library: Library,
    *,
    metrics: Mapping[str, float] | None = None,
    threshold: float = THRESHOLD,
    language: str = "en",
) -> list[Match]:
    """Fingerprints that match ``text``, best first (score, then more rules hit, then library order); ``[]`` when
    none reaches the threshold."""
    return match_lines(classify(split_lines(text)), library, metrics=metrics, threshold=threshold, language=language)


def match_lines(
    lines: Iterable[Line],
    library: Library,
    *,
    metrics: Mapping[str, float] | None = None,
    threshold: float = THRESHOLD,
    language: str = "en",
) -> list[Match]:
    metrics = metrics or {}
    candidates = [f for f in library.fingerprints if all(c.holds(metrics) for c in f.conditions)]
    # best[fingerprint index][rule index] = (value, line)
    best: list[list[tuple[float, Line] | None]] = [[None] * len(f.rules) for f in candidates]
    flat = [(fi, ri, rule) for fi, f in enumerate(candidates) for ri, rule in enumerate(f.rules)]
    frame_rules = [item for item in flat if item[2].scope == "frames"]
    message_rules = [item for item in flat if item[2].scope == "message"]
    info_rules = [item for item in message_rules if item[2].any_level]
    # which rules a line's text matched, by rule set and text: a log repeats its lines (the same trace logged
    # again and again), and a repeated line costs a dictionary look-up
    memo: dict[tuple[int, str], list[_Item]] = {}
    for line in lines:
        if line.frame:
            rules, factor, kind = frame_rules, FRAME, 0
        elif line.factor == INFO:
            rules, factor, kind = info_rules, PLAIN, 1  # an INFO line is evidence only for the rules that say so
        else:
            rules, factor, kind = message_rules, line.factor, 2
        if not rules:
            continue
        snippet = line.text[:MAX_LINE]
        key = (kind, snippet)
        hits = memo.get(key)
        if hits is None:
            hits = [
                item
                for item in rules
                if (not item[2].needle or item[2].needle in snippet) and item[2].pattern.search(snippet)
            ]
            if len(memo) >= MEMO_LINES:
                memo.clear()
            memo[key] = hits
        for fi, ri, rule in hits:
            value = rule.weight * (max(factor, PLAIN) if rule.any_level and line.level else factor)
            current = best[fi][ri]
            if current is None or value > current[0]:
                best[fi][ri] = (value, line)
    found: list[tuple[float, int, int, Match]] = []
    for fi, fingerprint in enumerate(candidates):
        ranked = sorted((h for h in best[fi] if h is not None), key=lambda h: (-h[0], h[1].number))
        if not ranked:
            continue
        score = ranked[0][0] + OTHER_RULES * sum(h[0] for h in ranked[1:])
        score = round(score + CONDITION_BONUS * len(fingerprint.conditions), 3)
        if score < threshold:
            continue
        seen: dict[int, Line] = {}
        for _, hit in ranked:  # each line once, in the order of its best hit
            seen.setdefault(hit.number, hit)
        evidence = tuple(Evidence(n, hit.text.strip()[:MAX_EVIDENCE], _place(hit)) for n, hit in seen.items())
        found.append(
            (
                score,
                len(ranked),
                library.fingerprints.index(fingerprint),
                Match(fingerprint.id, fingerprint.text("title", language), score, evidence, fingerprint),
            )
        )
    found.sort(key=lambda item: (-item[0], -item[1], item[2]))
    return [item[3] for item in found]


_Item = tuple[int, int, Rule]
