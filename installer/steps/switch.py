"""The `current` link and the node's record of what is installed (`.installer/node.json`).

`current` -> `versions/<version>` is the one thing the service runs through; it is switched last, by renaming
a new link over the old one, so at every instant it names a complete, configured version (or nothing)."""

from __future__ import annotations

import json
from typing import Any

from installer import fsutil
from installer.spec import Layout
from installer.steps import Context


def link_target(version: str) -> str:
    return f"versions/{version}"


def switch(layout: Layout, version: str) -> dict[str, Any]:
    old = fsutil.switch_link(layout.current, link_target(version))
    return {"from": old, "to": link_target(version), "already": old == link_target(version)}


def run(ctx: Context) -> dict[str, Any]:
    return switch(ctx.layout, ctx.spec.version)


def load_node(layout: Layout) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(layout.node_state.read_text())
        return data
    except FileNotFoundError:
        return {"current": None, "previous": None, "specs": {}, "backups": {}}


def save_node(layout: Layout, node: dict[str, Any]) -> None:
    fsutil.write_atomic(layout.node_state, json.dumps(node, indent=2).encode(), mode=0o600)
