"""Two versions of a job config side by side, for the console's diff page. Pure: no Django.

``side_by_side`` lines the two texts up (difflib's opcodes) into rows of (old line, new line), each marked
``same``, ``changed``, ``removed`` or ``added``, with line numbers. ``path_changes`` turns the jobs app's structural
diff (``seatunnel.config.diff.structural_diff``) into one row per changed path, written the way validation writes
them (``env.job.mode``, ``sink[0].table``, ``source[0].schema->fields->age``)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

SAME, CHANGED, REMOVED, ADDED = "same", "changed", "removed", "added"


@dataclass(frozen=True)
class Row:
    """One row of the side-by-side table; a side without a line has number None and text ""."""

    status: str
    old_number: int | None
    old_text: str
    new_number: int | None
    new_text: str


@dataclass(frozen=True)
class PathChange:
    status: str  # added, removed or changed
    path: str
    old: Any = None
    new: Any = None


def side_by_side(old_text: str, new_text: str) -> list[Row]:
    old, new = old_text.splitlines(), new_text.splitlines()
    rows: list[Row] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            rows += [Row(SAME, i + 1, old[i], j + 1, new[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
            continue
        # a replaced block pairs its lines while both sides have one; the rest are plain removals or additions
        for k in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + k, j1 + k
            if i < i2 and j < j2:
                rows.append(Row(CHANGED, i + 1, old[i], j + 1, new[j]))
            elif i < i2:
                rows.append(Row(REMOVED, i + 1, old[i], None, ""))
            else:
                rows.append(Row(ADDED, None, "", j + 1, new[j]))
    return rows


def _mapping_changes(prefix: str, diff: dict[str, dict[str, Any]]) -> list[PathChange]:
    changes = [PathChange(ADDED, f"{prefix}.{key}", new=value) for key, value in diff["added"].items()]
    changes += [PathChange(REMOVED, f"{prefix}.{key}", old=value) for key, value in diff["removed"].items()]
    changes += [PathChange(CHANGED, f"{prefix}.{key}", v["old"], v["new"]) for key, v in diff["changed"].items()]
    return changes


def path_changes(structure: dict[str, Any]) -> list[PathChange]:
    """Every changed path of a structural diff: env keys, then each plugin (by its index in the new version, or in
    the old one when it was removed) with its options; a plugin whose name changed shows as ``kind[i]`` itself."""
    changes = _mapping_changes("env", structure["env"])
    for plugin in structure["plugins"]:
        index = plugin["new_index"] if plugin["new_index"] is not None else plugin["old_index"]
        prefix = f"{plugin['kind']}[{index}]"
        if plugin["status"] == ADDED:
            changes.append(PathChange(ADDED, prefix, new=plugin["plugin"]))
        elif plugin["status"] == REMOVED:
            changes.append(PathChange(REMOVED, prefix, old=plugin["plugin"]))
        elif plugin["old_plugin"] != plugin["new_plugin"]:
            changes.append(PathChange(CHANGED, prefix, plugin["old_plugin"], plugin["new_plugin"]))
        if plugin["status"] == CHANGED:  # an added or removed plugin's options are all new or all gone: its row says so
            changes += _mapping_changes(prefix, plugin["options"])
    return changes
