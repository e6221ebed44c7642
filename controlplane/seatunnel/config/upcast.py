"""Upcast of a stored normal form written before dotted keys were kept flat.

Up to this change the normal form split every dotted key into nested objects (`checkpoint.interval = 5000` was
stored as `{"checkpoint": {"interval": 5000}}`), which the engine ignores or rejects (ZETA_FACTS §3.1). Both
spellings were stored the same way, so the old form alone cannot always say which one the text used:

- with the stored text, the text is read again and the new form is taken when splitting it gives back the stored
  form exactly (`exact=True`);
- without it (or when the text does not give back the stored form), two rules that hold for the engine apply:
  the env is read by flat names only, so every nested env path becomes one dotted key; and the map options whose
  values the engine converts from a flat map of strings (`MAP_OPTIONS`) become one dotted option holding a flat
  map. Any other nested plugin option stays nested (`schema.fields` must stay an object) and is listed in
  `ambiguous` for a person to check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controlplane.seatunnel.config.errors import JobConfigParseError
from controlplane.seatunnel.config.normal import KINDS, normalise

# Connector options typed Option<Map<String, String>> in SeaTunnel's connectors (`git grep` of the connectors'
# option classes): their values must be flat maps of strings, keyed by property names that often hold dots.
MAP_OPTIONS = (
    "clickhouse.config",
    "debezium",
    "doris.config",
    "hadoop.config",
    "hadoop_s3_properties",
    "hbase_extra_config",
    "headers",
    "hive.hadoop.conf",
    "iceberg.catalog.config",
    "iceberg.table.auto-create-props",
    "iceberg.table.config",
    "iceberg.table.write-props",
    "kafka.config",
    "paimon.hadoop.conf",
    "paimon.table.write-props",
    "params",
    "properties",
    "pulsar.config",
    "rabbitmq.config",
    "selectdb.config",
    "starrocks.config",
)


@dataclass(frozen=True)
class Upcast:
    normalised: dict[str, Any]
    exact: bool  # read again from the stored text, which gives back the stored form
    changed: bool  # differs from the stored form
    ambiguous: tuple[str, ...]  # nested plugin options kept nested because the old form cannot say


def _legacy_plain(value: Any) -> Any:
    """The old normalisation of a value: every dotted key split into nested objects (merged)."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            key = str(key)
            parts = key.split(".") if "." in key.strip(".") else [key]
            _legacy_set(out, parts, _legacy_plain(inner))
        return out
    if isinstance(value, list | tuple):
        return [_legacy_plain(v) for v in value]
    return value


def _legacy_set(target: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        existing = target.setdefault(part, {})
        if not isinstance(existing, dict):
            raise ValueError(f"'{part}' is both a value and an object")
        target = existing
    last = parts[-1]
    if isinstance(target.get(last), dict) and isinstance(value, dict):
        for key, inner in value.items():
            _legacy_set(target[last], [key], inner)
    else:
        target[last] = value


def legacy_form(normalised: Mapping[str, Any]) -> dict[str, Any]:
    """What the old normalisation made of a (new) normal form: dotted keys split."""
    out: dict[str, Any] = {"env": _legacy_plain(normalised.get("env", {}))}
    for kind in KINDS:
        out[kind] = [
            {"plugin": item["plugin"], "options": _legacy_plain(item["options"])} for item in normalised.get(kind, [])
        ]
    return out


def _flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, inner in value.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(inner, Mapping) and inner:
            flat.update(_flatten(inner, path))
        else:
            flat[path] = inner
    return flat


def _take(options: dict[str, Any], dotted: str) -> Any:
    """Remove and return the value at a split path (`kafka` → `config`), or None when it is not there."""
    parts = dotted.split(".")
    node: Any = options
    trail = []
    for part in parts[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(part), dict):
            return None
        trail.append((node, part))
        node = node[part]
    if not isinstance(node, dict) or parts[-1] not in node:
        return None
    value = node.pop(parts[-1])
    for parent, part in reversed(trail):  # drop the objects the split left empty
        if parent[part] == {}:
            del parent[part]
    return value


def _by_rules(old: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    env = old.get("env") or {}
    result: dict[str, Any] = {"env": _flatten(env) if isinstance(env, Mapping) else {}}
    ambiguous: list[str] = []
    for kind in KINDS:
        items = []
        for index, item in enumerate(old.get(kind) or []):
            options = _copy(item.get("options") or {})
            lifted: dict[str, Any] = {}
            for name in MAP_OPTIONS:
                value = _take(options, name)
                if value is not None:
                    lifted[name] = _flatten(value) if isinstance(value, Mapping) else value
            for key, value in options.items():
                if isinstance(value, Mapping) and value and key not in MAP_OPTIONS:
                    ambiguous.append(f"{kind}[{index}].{key}")
            items.append({"plugin": item["plugin"], "options": {**options, **lifted}})
        result[kind] = items
    return result, ambiguous


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def upcast_normal_form(old: Mapping[str, Any], *, text: str | None = None, fmt: str = "auto") -> Upcast:
    """The flat-key normal form of a normal form stored by the splitting normalisation (see the module's note).

    Idempotent on a form whose keys were already flat and that holds no nested env object."""
    from controlplane.seatunnel.config.parse import load  # parse imports normal; keep this module light

    old_plain = _copy(dict(old))
    if text is not None:
        try:
            _, raw = load(text, fmt)
            fresh = normalise(raw)
        except JobConfigParseError:
            fresh = None
        if fresh is not None and _same_when_split(fresh, old_plain):
            return Upcast(normalised=fresh, exact=True, changed=fresh != old_plain, ambiguous=())
    upcast, ambiguous = _by_rules(old_plain)
    return Upcast(normalised=upcast, exact=False, changed=upcast != old_plain, ambiguous=tuple(ambiguous))


def _same_when_split(fresh: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    try:
        return legacy_form(fresh) == legacy_form(stored)
    except ValueError:  # a key that is both a value and an object: the old reader would have refused it
        return False
