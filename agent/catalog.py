"""The action catalog on the agent's side (docs/AGENT_PROTOCOL.md, "The catalog").

The parameter schemas are the JSON Schemas in agent/schemas/ (one file per type), the same files the control
plane validates with before it signs anything. An unknown key, a wrong type, a value out of range or a path that
could leave logs/ makes the action AGENT_PARAMS_INVALID before it runs. On top of the schema the agent applies
its node's own policy: the local config may lower the numeric maxima per type
(`[allowlist.limits."log.tail"] lines = 500`), never raise them, and a health.check url must name loopback or
the configured engine's host.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from agent import schemas

ParamsInvalid = schemas.ParamsInvalid


@dataclass(frozen=True)
class Schema:
    """One type's schema as the agent applies it: the shared JSON Schema, then the node's policy, then defaults."""

    action_type: str

    def validate(
        self, params: Any, limits: dict[str, int] | None = None, local_hosts: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """The params with defaults filled in, or ParamsInvalid. `local_hosts`: hosts a url may name
        besides loopback (the configured engine's)."""
        checked = schemas.validate(self.action_type, params, limits)
        if self.action_type == "health.check" and checked.get("url") is not None:
            _local_url(checked["url"], local_hosts)
        result = schemas.defaults(self.action_type)
        result.update({name: value for name, value in checked.items() if value is not None})
        return result

    def check_limit(self, name: str, maximum: Any) -> int:
        """A local limit from the config: an integer parameter's lower maximum."""
        low, high = schemas.integer_bounds(self.action_type, name)
        if isinstance(maximum, bool) or not isinstance(maximum, int):
            raise ValueError("must be an integer")
        high = maximum if high is None else high
        if not low <= maximum <= high:
            raise ValueError(f"must be from {low} to {high} (a local limit can only lower the catalog's)")
        return maximum


def _local_url(value: str, local_hosts: frozenset[str]) -> None:
    # Node policy, not schema: health.check must not become a way to make the node fetch arbitrary addresses.
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ParamsInvalid("url must be an http(s) URL", field="url")
    host = parts.hostname
    if host == "localhost" or host in local_hosts:
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ParamsInvalid(f"url host {host!r} is neither loopback nor the configured engine's host", field="url")


SCHEMAS: dict[str, Schema] = {action_type: Schema(action_type) for action_type in schemas.types()}

# What an agent runs when its config names no allowlist: the actions that change nothing on the node.
READ_ONLY_TYPES = frozenset(
    {
        "service.status",
        "health.check",
        "snapshot.version_config",
        "log.tail",
        "diagnostics.collect",
        "installer.status",
        "installer.plan",
    }
)
