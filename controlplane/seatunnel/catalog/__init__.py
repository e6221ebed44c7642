"""Connector catalog per engine version, read from plugin-mapping.properties-style data files in ./data.

`catalog_for("2.3.12")` returns the catalog of that version; an unknown patch of a known minor line falls back to the
nearest lower known patch (2.3.10 -> 2.3.8). Plugin names are matched case-insensitively, as the engine's plugin
discovery does (the engine's own example configs say `console`, `jdbc`, `sql`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from controlplane.seatunnel.config.errors import JobCatalogVersionUnknown

KINDS = ("source", "transform", "sink")
DATA_DIR = Path(__file__).resolve().parent / "data"
_VERSION = re.compile(r"^\s*v?(\d+)\.(\d+)\.(\d+)(?:[-.+][0-9A-Za-z.-]*)?\s*$")
_LINE = re.compile(r"^seatunnel\.(source|transform|sink)\.([^\s=:]+)\s*[=:]\s*(\S+)\s*$")


def parse_version(version: str) -> tuple[int, int, int]:
    match = _VERSION.match(version or "")
    if match is None:
        raise JobCatalogVersionUnknown(
            f"{version!r} is not an engine version like 2.3.12.", code="JOB_CATALOG_VERSION_UNKNOWN", version=version
        )
    return int(match[1]), int(match[2]), int(match[3])


@dataclass(frozen=True)
class Catalog:
    version: str
    # kind -> {lower-case name: (canonical name, artifact)}
    plugins: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    requested: str | None = None

    def names(self, kind: str) -> list[str]:
        return sorted(name for name, _ in self.plugins.get(kind, {}).values())

    def knows(self, kind: str, plugin: str) -> bool:
        return plugin.lower() in self.plugins.get(kind, {})

    def canonical(self, kind: str, plugin: str) -> str | None:
        entry = self.plugins.get(kind, {}).get(plugin.lower())
        return entry[0] if entry else None

    def artifact(self, kind: str, plugin: str) -> str | None:
        entry = self.plugins.get(kind, {}).get(plugin.lower())
        return entry[1] if entry else None

    def provided_by(self, jar_files: Iterable[str]) -> dict[tuple[str, str], list[str]]:
        """(kind, name) -> the jars of a node's connectors/ that provide the plugin, for every plugin some jar
        provides. The engine's rule (``AbstractPluginDiscovery.findPluginJarPath``): the plugin's artifact from
        plugin-mapping.properties, then any ``*.jar`` whose name starts with it, case ignored. More than one
        match and the engine takes the most similar name; the list has them all (two versions of a connector)."""
        jars = sorted(name for name in jar_files if name.lower().endswith(".jar"))
        found: dict[tuple[str, str], list[str]] = {}
        for kind in KINDS:
            for name, artifact in self.plugins.get(kind, {}).values():
                prefix = artifact.lower()
                matches = [jar for jar in jars if jar.lower().startswith(prefix)]
                if matches:
                    found[(kind, name)] = matches
        return found

    def suggest(self, kind: str, plugin: str, *, limit: int = 3) -> list[str]:
        """Close matches of a misspelt name, best first, in their catalog spelling."""
        table = self.plugins.get(kind, {})
        lowered = difflib.get_close_matches(plugin.lower(), list(table), n=limit, cutoff=0.6)
        return [table[name][0] for name in lowered]


def parse_properties(text: str, *, version: str) -> Catalog:
    plugins: dict[str, dict[str, tuple[str, str]]] = {kind: {} for kind in KINDS}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        match = _LINE.match(line)
        if match is None:
            continue  # flink.* / spark.* lines of old files: not Zeta connectors
        kind, name, artifact = match.groups()
        plugins[kind].setdefault(name.lower(), (name, artifact))
    return Catalog(version=version, plugins=plugins)


def known_versions() -> list[str]:
    found = []
    for path in DATA_DIR.glob("*.properties"):
        try:
            parse_version(path.stem)
        except JobCatalogVersionUnknown:
            continue
        found.append(path.stem)
    return sorted(found, key=parse_version)


@cache
def _load(version: str) -> Catalog:
    return parse_properties((DATA_DIR / f"{version}.properties").read_text(encoding="utf-8"), version=version)


def catalog_for(version: str) -> Catalog:
    wanted = parse_version(version)
    candidates = [v for v in known_versions() if parse_version(v)[:2] == wanted[:2] and parse_version(v) <= wanted]
    if not candidates:
        raise JobCatalogVersionUnknown(
            f"No connector catalog for engine version {version}; known: {', '.join(known_versions())}.",
            version=version,
            known=known_versions(),
        )
    chosen = candidates[-1]
    catalog = _load(chosen)
    if chosen == version:
        return catalog
    return Catalog(version=catalog.version, plugins=catalog.plugins, requested=version)
