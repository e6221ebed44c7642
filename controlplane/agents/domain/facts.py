"""What a node has installed, as its agent's heartbeat reports it (docs/AGENT_PROTOCOL.md, "Heartbeat"): the jars
of the SeaTunnel home's connectors/ (`connector_jars`: file, artifact, version) and lib/ (`lib_jars`: file names).

Pure. ``clean_installed`` is what the heartbeat stores: the two facts kept only in their documented shape and
bounds (an entry that does not fit is dropped, a value that is not a list becomes null), so that no agent can
put anything else on a page. ``installed_of`` reads them back: not reported (no such key: an agent older than
these facts), not readable (null: the agent has no SeaTunnel home, or could not list the directory), or the jars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CONNECTOR_JARS, LIB_JARS = "connector_jars", "lib_jars"
INSTALLED_KEYS = (CONNECTOR_JARS, LIB_JARS)
MAX_JARS = 500  # per directory, as the agent bounds them
MAX_NAME = 255  # a file name's longest on the usual file systems


@dataclass(frozen=True)
class ConnectorJar:
    file: str
    artifact: str  # what plugin-mapping.properties maps plugin names to: connector-jdbc
    version: str | None


@dataclass(frozen=True)
class Installed:
    """One agent's report. ``reported``: its heartbeat carries the facts (an older agent's does not); a list is
    None when it was not reported or could not be read."""

    reported: bool
    connector_jars: tuple[ConnectorJar, ...] | None
    lib_jars: tuple[str, ...] | None
    seatunnel_home: str | None


NOT_REPORTED = Installed(reported=False, connector_jars=None, lib_jars=None, seatunnel_home=None)


def _name(value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= MAX_NAME and "/" not in value:
        return value
    return None


def _connector_jars(value: Any) -> list[dict[str, str | None]] | None:
    if not isinstance(value, list):
        return None
    kept: list[dict[str, str | None]] = []
    for entry in value[:MAX_JARS]:
        if not isinstance(entry, dict):
            continue
        file, artifact, version = _name(entry.get("file")), _name(entry.get("artifact")), entry.get("version")
        if file is None or artifact is None or not (version is None or _name(version)):
            continue
        kept.append({"file": file, "artifact": artifact, "version": version})
    return kept


def _lib_jars(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    return [name for name in (_name(entry) for entry in value[:MAX_JARS]) if name is not None]


def clean_installed(facts: dict[str, Any]) -> dict[str, Any]:
    """The facts with `connector_jars` and `lib_jars`, when present, in their shape and bounds; other facts as
    they are."""
    cleaned = dict(facts)
    if CONNECTOR_JARS in cleaned:
        cleaned[CONNECTOR_JARS] = _connector_jars(cleaned[CONNECTOR_JARS])
    if LIB_JARS in cleaned:
        cleaned[LIB_JARS] = _lib_jars(cleaned[LIB_JARS])
    return cleaned


def without_installed(facts: dict[str, Any]) -> dict[str, Any]:
    """The facts less the jar lists: what a registration event keeps (lists of up to a thousand names are an
    observation for the liveness row, not history for the log)."""
    return {key: value for key, value in facts.items() if key not in INSTALLED_KEYS}


def installed_of(facts: dict[str, Any] | None) -> Installed:
    """What stored facts say is installed."""
    if not facts or not any(key in facts for key in INSTALLED_KEYS):
        return NOT_REPORTED
    cleaned = clean_installed({key: facts.get(key) for key in INSTALLED_KEYS})
    jars, libs, home = cleaned[CONNECTOR_JARS], cleaned[LIB_JARS], facts.get("seatunnel_home")
    return Installed(
        reported=True,
        connector_jars=None
        if jars is None
        else tuple(ConnectorJar(j["file"], j["artifact"], j["version"]) for j in jars),
        lib_jars=None if libs is None else tuple(libs),
        seatunnel_home=home if isinstance(home, str) else None,
    )
