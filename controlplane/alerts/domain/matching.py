"""Label matchers (Alertmanager's four operators), fingerprints, group keys, silences' and inhibitions' effect.

Pure: no Django. A label set is a ``dict[str, str]``; a label that is absent matches as the empty string, as in
Alertmanager (so ``team!="db"`` matches an alert without ``team``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime

from controlplane.errors import DomainError

OPS = ("=", "!=", "=~", "!~")
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
MAX_MATCHERS = 20
MAX_VALUE = 500


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def matches(self, labels: dict[str, str]) -> bool:
        have = labels.get(self.name, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        found = re.fullmatch(self.value, have) is not None  # anchored, like Alertmanager's regex matchers
        return found if self.op == "=~" else not found

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "op": self.op, "value": self.value}


def parse_matchers(raw: object, *, error: type[DomainError], field: str, allow_empty: bool = True) -> list[Matcher]:
    """``[{"name", "op", "value"}, ...]`` -> matchers, or ``error`` naming ``field`` (and the item's index)."""
    if not isinstance(raw, list) or len(raw) > MAX_MATCHERS:
        raise error(f"{field} must be a list of at most {MAX_MATCHERS} matchers", field=field)
    if not raw and not allow_empty:
        raise error(f"{field} needs at least one matcher", field=field)
    found: list[Matcher] = []
    for index, item in enumerate(raw):
        where = f"{field}[{index}]"
        if not isinstance(item, dict) or set(item) - {"name", "op", "value"}:
            raise error(f"{where} must be an object with name, op and value", field=where)
        name, op, value = item.get("name"), item.get("op", "="), item.get("value")
        if not isinstance(name, str) or not LABEL_NAME.match(name):
            raise error(f"{where}.name must be a label name", field=f"{where}.name")
        if op not in OPS:
            raise error(f"{where}.op must be one of {', '.join(OPS)}", field=f"{where}.op")
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise error(f"{where}.value must be text of at most {MAX_VALUE} characters", field=f"{where}.value")
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise error(f"{where}.value is not a regular expression: {exc}", field=f"{where}.value") from None
        found.append(Matcher(name, op, value))
    return found


def matchers_from_dicts(raw: list[dict[str, str]]) -> list[Matcher]:
    """Matchers as stored in events (validated when they were written)."""
    return [Matcher(m["name"], m["op"], m["value"]) for m in raw]


def all_match(matchers: list[Matcher], labels: dict[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


def fingerprint(origin: str, identity: dict[str, str]) -> str:
    """A stable hash of where an alert comes from (a rule id, or ``prometheus:<workspace>``) and the labels that
    identify it: the same condition on the same thing is the same alert, whenever it is seen again."""
    text = json.dumps([origin, sorted(identity.items())], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def group_key(group_by: list[str], labels: dict[str, str]) -> str:
    """Alertmanager's shape: ``{}:{cluster="c1",job="j1"}`` over the rule's ``group_by`` labels."""
    inner = ",".join(f'{name}="{labels.get(name, "")}"' for name in sorted(group_by))
    return "{}:{" + inner + "}"


# -- silences and inhibition -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActiveSilence:
    silence_id: str
    matchers: list[Matcher]
    starts_at: datetime
    ends_at: datetime

    def mutes(self, labels: dict[str, str], now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at and all_match(self.matchers, labels)


@dataclass(frozen=True)
class InhibitRule:
    """While an alert matching ``source`` fires, alerts matching ``target`` with the same values of ``equal`` are
    muted (Alertmanager's inhibit_rules)."""

    source: list[Matcher]
    target: list[Matcher]
    equal: list[str]


CLUSTER_DOWN_KINDS = "cluster_unreachable|node_lost"
JOB_KINDS = "run_failed|run_stuck|no_progress|low_throughput|checkpoint_failing"

# The default (docs/ALERTS.md, "Inhibition"): a cluster that is down or has lost a node mutes the job and run
# alerts of the same cluster; the people paged for the cluster need not be paged for each job on it.
DEFAULT_INHIBIT_RULES: tuple[InhibitRule, ...] = (
    InhibitRule(
        source=[Matcher("kind", "=~", CLUSTER_DOWN_KINDS)],
        target=[Matcher("kind", "=~", JOB_KINDS)],
        equal=["cluster"],
    ),
)


@dataclass(frozen=True)
class FiringAlert:
    fingerprint: str
    labels: dict[str, str]


def silenced_by(labels: dict[str, str], silences: list[ActiveSilence], now: datetime) -> list[str]:
    return sorted(s.silence_id for s in silences if s.mutes(labels, now))


def inhibited_by(
    me: FiringAlert, firing: list[FiringAlert], rules: tuple[InhibitRule, ...] = DEFAULT_INHIBIT_RULES
) -> list[str]:
    """Fingerprints of the firing alerts that inhibit ``me``. An alert never inhibits itself, and an alert that
    matches both sides of a rule is not muted by another such alert (Alertmanager does the same)."""
    found: set[str] = set()
    for rule in rules:
        if not all_match(rule.target, me.labels) or all_match(rule.source, me.labels):
            continue
        for other in firing:
            if other.fingerprint == me.fingerprint or not all_match(rule.source, other.labels):
                continue
            if all(other.labels.get(name, "") == me.labels.get(name, "") for name in rule.equal):
                found.add(other.fingerprint)
    return sorted(found)
