"""The action catalog's parameter schemas (docs/AGENT_PROTOCOL.md, "The catalog").

Each type takes a fixed set of typed parameters; anything else (an unknown key, a wrong type, a value
out of range, a path that could leave logs/) makes the action AGENT_PARAMS_INVALID before it runs. The
local config may lower the numeric maxima per type (`[allowlist.limits."log.tail"] lines = 500`), never
raise them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class ParamsInvalid(ValueError):
    """The params do not fit the type's schema; the message says which and why."""


@dataclass(frozen=True)
class Param:
    name: str
    kind: type  # int, bool or str
    required: bool = False
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None  # for str: the longest length
    pattern: str | None = None
    check: Any = None  # an extra callable(value, local_hosts) -> None that raises ParamsInvalid


@dataclass(frozen=True)
class Schema:
    params: tuple[Param, ...] = ()

    def validate(
        self, params: Any, limits: dict[str, int] | None = None, local_hosts: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """The params with defaults filled in, or ParamsInvalid. `local_hosts`: hosts a url may name
        besides loopback (the configured engine's)."""
        if not isinstance(params, dict):
            raise ParamsInvalid("params must be an object")
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ParamsInvalid(f"unknown parameter(s) {', '.join(unknown)}")
        limits = limits or {}
        result: dict[str, Any] = {}
        for param in self.params:
            if param.name not in params or params[param.name] is None:
                if param.required:
                    raise ParamsInvalid(f"{param.name} is required")
                if param.default is not None:
                    result[param.name] = param.default
                continue
            value = params[param.name]
            # bool is a subclass of int: keep them apart in both directions.
            if isinstance(value, bool) != (param.kind is bool) or not isinstance(value, param.kind):
                raise ParamsInvalid(f"{param.name} must be {_kind_name(param.kind)}")
            if param.kind is int and isinstance(value, int):
                maximum = param.maximum
                if param.name in limits:
                    maximum = limits[param.name] if maximum is None else min(maximum, limits[param.name])
                if param.minimum is not None and value < param.minimum:
                    raise ParamsInvalid(f"{param.name} must be at least {param.minimum}")
                if maximum is not None and value > maximum:
                    raise ParamsInvalid(f"{param.name} must be at most {maximum}")
            if param.kind is str and isinstance(value, str):
                if param.maximum is not None and len(value) > param.maximum:
                    raise ParamsInvalid(f"{param.name} is longer than {param.maximum} characters")
                if param.pattern is not None and not re.fullmatch(param.pattern, value):
                    raise ParamsInvalid(f"{param.name} {value!r} is not allowed")
            if param.check is not None:
                param.check(value, local_hosts)
            result[param.name] = value
        return result

    def check_limit(self, name: str, maximum: Any) -> int:
        """A local limit from the config: an integer parameter's lower maximum."""
        param = next((p for p in self.params if p.name == name), None)
        if param is None or param.kind is not int:
            raise ValueError("not an integer parameter of this type")
        if isinstance(maximum, bool) or not isinstance(maximum, int):
            raise ValueError("must be an integer")
        low = param.minimum if param.minimum is not None else 0
        high = param.maximum if param.maximum is not None else maximum
        if not low <= maximum <= high:
            raise ValueError(f"must be from {low} to {high} (a local limit can only lower the catalog's)")
        return maximum


def _kind_name(kind: type) -> str:
    return {int: "an integer", bool: "true or false", str: "a string"}[kind]


def _relative_log_path(value: str, local_hosts: frozenset[str]) -> None:
    # The handler resolves the path again (symlinks); this refuses the obvious escapes before anything runs.
    parts = value.split("/")
    if value.startswith("/") or "\\" in value or "\x00" in value or any(p in ("", ".", "..") for p in parts):
        raise ParamsInvalid(f"file {value!r} must be a plain path relative to the logs directory")


def _local_url(value: str, local_hosts: frozenset[str]) -> None:
    # health.check must not become a way to make the node fetch arbitrary addresses.
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ParamsInvalid("url must be an http(s) URL")
    host = parts.hostname
    if host == "localhost" or host in local_hosts:
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ParamsInvalid(f"url host {host!r} is neither loopback nor the configured engine's host")


_TIMEOUT = Param("timeout_seconds", int, default=120, minimum=1, maximum=3600)
SCHEMAS: dict[str, Schema] = {
    "service.status": Schema(),
    "service.start": Schema((_TIMEOUT,)),
    "service.stop": Schema((_TIMEOUT,)),
    "service.restart": Schema((_TIMEOUT,)),
    "worker.start": Schema((_TIMEOUT,)),
    "worker.stop": Schema((_TIMEOUT,)),
    "health.check": Schema((Param("url", str, maximum=2048, check=_local_url),)),
    "snapshot.version_config": Schema(),
    "log.tail": Schema(
        (
            Param("file", str, required=True, maximum=255, check=_relative_log_path),
            Param("lines", int, default=200, minimum=1, maximum=5000),
        )
    ),
    "diagnostics.collect": Schema(
        (
            Param("since_minutes", int, default=60, minimum=1, maximum=7 * 24 * 60),
            Param("include_thread_dump", bool, default=True),
        )
    ),
    "plugin.install": Schema(
        (
            Param("name", str, required=True, maximum=200, pattern=r"[A-Za-z0-9][A-Za-z0-9._+-]*\.jar"),
            Param("sha256", str, required=True, pattern=r"[0-9a-f]{64}"),
            Param("size", int, required=True, minimum=1, maximum=2 * 1024**3),
        )
    ),
}

# What an agent runs when its config names no allowlist: the actions that change nothing on the node.
READ_ONLY_TYPES = frozenset(
    {"service.status", "health.check", "snapshot.version_config", "log.tail", "diagnostics.collect"}
)
