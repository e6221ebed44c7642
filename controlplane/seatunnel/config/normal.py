"""The normal form of a job config and its canonical JSON text.

Normal form (JSON-able, what versions store and diffs compare):
    {"env": {...}, "source": [{"plugin": "FakeSource", "options": {...}}, ...], "transform": [...], "sink": [...]}
- plugin lists keep the order of the text; every kind is present (possibly empty);
- keys are kept exactly as written: a dotted key (`checkpoint.interval`, `row.num`, `"client.id"`) is one flat key,
  never split into nested objects. SeaTunnel's config path separator is `->` (ZETA_FACTS §3.1): the engine reads
  env settings by their flat names only and converts map options (`kafka.config`, `debezium`) from flat maps of
  strings, so a split key is ignored or fails the submit;
- top-level keys other than env/source/transform/sink (e.g. helper objects used for HOCON substitutions) are dropped.
Canonical JSON text: the engine's REST JSON shape (`plugin_name` inside each plugin object), keys sorted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from controlplane.seatunnel.config.errors import JobConfigParseError

KINDS = ("source", "transform", "sink")


def _structure_error(message: str, path: str) -> JobConfigParseError:
    return JobConfigParseError(message, path=path, line=None, column=None)


def plain(value: Any, path: str) -> Any:
    """A JSON-able copy, keys kept exactly as written (dotted keys stay flat)."""
    if isinstance(value, Mapping):
        return {str(key): plain(inner, f"{path}.{key}") for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def option_value(options: Mapping[str, Any], key: str) -> Any:
    """An option as the engine's `ReadonlyConfig.getValue` finds it: the flat key first, else a walk down nested
    objects split on `.` (why `job.mode` reads either way). Env settings the engine reads from the raw env map
    (`checkpoint.interval`, `job.retry.times`, read limits) must be looked up flat, with `options.get(key)`."""
    if key in options:
        return options[key]
    node: Any = options
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _entries(kind: str, block: Any) -> list[dict[str, Any]]:
    if block is None:
        return []
    if isinstance(block, Mapping):
        if "plugin" in block and "options" in block and isinstance(block.get("plugin"), str):
            block = [block]
        else:  # {"FakeSource": {...}, "Console": {...}} (YAML/JSON written like HOCON)
            listed = []
            for name, opts in block.items():
                if not isinstance(opts, Mapping):
                    raise _structure_error(f"{kind}.{name} must be an object of options.", f"{kind}.{name}")
                listed.append({"plugin_name": name, **opts})
            block = listed
    if not isinstance(block, list):
        raise _structure_error(f"'{kind}' must be a list of plugins or an object of plugin blocks.", kind)
    out = []
    for index, item in enumerate(block):
        where = f"{kind}[{index}]"
        if not isinstance(item, Mapping):
            raise _structure_error(f"{where} must be an object.", where)
        if "plugin" in item and "options" in item and "plugin_name" not in item:  # already normal
            plugin, options = item["plugin"], item["options"]
            if not isinstance(options, Mapping):
                raise _structure_error(f"{where}.options must be an object.", where)
        else:
            plugin = item.get("plugin_name")
            options = {k: v for k, v in item.items() if k != "plugin_name"}
        if not isinstance(plugin, str) or not plugin.strip():
            raise _structure_error(f"{where} has no plugin_name.", where)
        out.append({"plugin": plugin.strip(), "options": plain(options, f"{where}.{plugin}")})
    return out


def normalise(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Normal form of parsed config data (HOCON/JSON/YAML reading, engine JSON shape, or normal form itself)."""
    if not isinstance(raw, Mapping):
        raise _structure_error("A job config must be an object at the top level.", "")
    env = raw.get("env")
    if env is None:
        env = {}
    if not isinstance(env, Mapping):
        raise _structure_error("'env' must be an object.", "env")
    result: dict[str, Any] = {"env": plain(env, "env")}
    for kind in KINDS:
        result[kind] = _entries(kind, raw.get(kind))
    return result


def engine_form(normalised: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's REST JSON shape: each plugin is an object of its options plus `plugin_name`."""
    out: dict[str, Any] = {"env": normalised["env"]}
    for kind in KINDS:
        out[kind] = [{**item["options"], "plugin_name": item["plugin"]} for item in normalised[kind]]
    return out


def canonical_json(normalised: Mapping[str, Any], *, indent: int | None = None) -> str:
    """Canonical JSON text of a normal form (sorted keys, stable bytes) to submit to `/submit-job` as JSON."""
    separators = (",", ": ") if indent else (",", ":")
    return json.dumps(engine_form(normalised), sort_keys=True, ensure_ascii=False, indent=indent, separators=separators)
