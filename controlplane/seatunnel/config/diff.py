"""Differences between two versions of a job config: a unified text diff and a structural diff of normal forms.

Structural shape (JSON-able):
    {"env": {"added": {path: value}, "removed": {path: value}, "changed": {path: {"old": v, "new": v}}},
     "plugins": [{"kind", "plugin", "key", "status": "added"|"removed"|"changed",
                  "old_index", "new_index", "old_plugin", "new_plugin",
                  "options": {"added": {...}, "removed": {...}, "changed": {...}}}],
     "unchanged": <number of plugins that match and are equal>}
Plugins are matched by their produced table (`plugin_output`, or the old `result_table_name`) when they have one, else
by kind + plugin name (case-insensitive) + occurrence among those. Keys are shown exactly as written, so a dotted key
stays one key (`checkpoint.interval`); nesting is joined with `->`, SeaTunnel's own path separator
(`schema->fields->age`), so `{"a.b": 1}` and `{"a": {"b": 1}}` (which the engine reads differently) never show as
the same path. Lists compare as whole values. Values are shown as stored, so secret references stay references.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from controlplane.seatunnel.config.validate import output_names

KINDS = ("source", "transform", "sink")


def text_diff(old_text: str, new_text: str, *, old_label: str = "old", new_label: str = "new", context: int = 3) -> str:
    return "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=old_label,
            tofile=new_label,
            n=context,
        )
    )


def _flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, inner in value.items():
        path = f"{prefix}->{key}" if prefix else str(key)
        if isinstance(inner, Mapping) and inner:
            flat.update(_flatten(inner, path))
        else:
            flat[path] = inner
    return flat


def mapping_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    before, after = _flatten(old), _flatten(new)
    return {
        "added": {k: after[k] for k in after if k not in before},
        "removed": {k: before[k] for k in before if k not in after},
        "changed": {k: {"old": before[k], "new": after[k]} for k in after if k in before and before[k] != after[k]},
    }


def _keys(items: list[dict[str, Any]], kind: str) -> list[str]:
    seen: dict[str, int] = {}
    keys = []
    for item in items:
        outputs = output_names(item["options"])
        if outputs:
            keys.append(f"{kind}:output:{','.join(outputs)}")
            continue
        base = f"{kind}:{item['plugin'].lower()}"
        occurrence = seen.get(base, 0)
        seen[base] = occurrence + 1
        keys.append(f"{base}#{occurrence}")
    return keys


def structural_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    plugins: list[dict[str, Any]] = []
    unchanged = 0
    for kind in KINDS:
        old_items, new_items = list(old.get(kind, [])), list(new.get(kind, []))
        old_keys, new_keys = _keys(old_items, kind), _keys(new_items, kind)
        old_by_key = {key: index for index, key in enumerate(old_keys)}
        matched_old = set()
        for new_index, key in enumerate(new_keys):
            item = new_items[new_index]
            if key not in old_by_key:
                plugins.append(
                    {
                        "kind": kind,
                        "plugin": item["plugin"],
                        "key": key,
                        "status": "added",
                        "old_index": None,
                        "new_index": new_index,
                        "options": mapping_diff({}, item["options"]),
                    }
                )
                continue
            old_index = old_by_key[key]
            matched_old.add(old_index)
            before = old_items[old_index]
            if before["plugin"] == item["plugin"] and before["options"] == item["options"]:
                unchanged += 1
                continue
            plugins.append(
                {
                    "kind": kind,
                    "plugin": item["plugin"],
                    "key": key,
                    "status": "changed",
                    "old_index": old_index,
                    "new_index": new_index,
                    "old_plugin": before["plugin"],
                    "new_plugin": item["plugin"],
                    "options": mapping_diff(before["options"], item["options"]),
                }
            )
        for old_index, key in enumerate(old_keys):
            if old_index in matched_old:
                continue
            item = old_items[old_index]
            plugins.append(
                {
                    "kind": kind,
                    "plugin": item["plugin"],
                    "key": key,
                    "status": "removed",
                    "old_index": old_index,
                    "new_index": None,
                    "options": mapping_diff(item["options"], {}),
                }
            )
    return {"env": mapping_diff(old.get("env", {}), new.get("env", {})), "plugins": plugins, "unchanged": unchanged}


def diff_configs(
    old_text: str, old_normalised: Mapping[str, Any], new_text: str, new_normalised: Mapping[str, Any]
) -> dict[str, Any]:
    """Both diffs at once: {"text": unified diff, "structure": structural diff}."""
    return {"text": text_diff(old_text, new_text), "structure": structural_diff(old_normalised, new_normalised)}
