"""The agent's config file (TOML; see docs/AGENT.md) and its validation.

Every problem is a `ConfigError` with one line naming the file and the key, so `python -m agent` can
print it and exit 2. Unknown keys are errors too: a misspelt `[allowlist]` must not silently widen or
narrow what the agent runs.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent import catalog
from agent.outbound import OutboundPolicy
from agent.state import SKEW_SECONDS

DEFAULT_STATE_DIR = Path("/var/lib/seatunnel-agent")
MANAGERS = ("systemd", "compose", "kubernetes", "process")


class ConfigError(Exception):
    """A bad config value; the message is one line."""


@dataclass(frozen=True)
class AgentConfig:
    server: str | None = None
    state_dir: Path = DEFAULT_STATE_DIR
    ca_file: str | None = None
    member_address: str | None = None
    seatunnel_home: Path | None = None
    engine_url: str | None = None  # the engine's REST address (with context path), for /overview
    seatunnel_version: str | None = None  # only when neither the home nor the engine shows it
    heartbeat_interval: float | None = None  # None: what the control plane says
    poll_wait: float | None = None
    max_workers: int = 4
    expiry_skew_seconds: int = SKEW_SECONDS  # the allowance on expires_at; only narrower than the default
    allowlist: frozenset[str] = catalog.READ_ONLY_TYPES
    limits: dict[str, dict[str, int]] = field(default_factory=dict)
    service: dict[str, Any] | None = None  # the [service] table, checked by agent.managers.build
    worker: dict[str, Any] | None = None  # the [worker] table (same keys), for worker.start/stop
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)  # where URL-taking actions connect ([outbound])
    # [installer]: the installer actions act only on prefixes inside `install_root` and read local tarballs only
    # from `install_sources`; without a root they refuse (AGENT_NOT_CONFIGURED). `install_java_home`: the JDK the
    # engine runs with when the action does not say (default: $JAVA_HOME, else java on PATH).
    install_root: Path | None = None
    install_sources: tuple[Path, ...] = ()
    install_java_home: str | None = None


_TOP = {
    "server",
    "state_dir",
    "ca_file",
    "member_address",
    "max_workers",
    "expiry_skew_seconds",
    "heartbeat",
    "seatunnel",
    "allowlist",
    "service",
    "worker",
    "outbound",
    "installer",
}
_OUTBOUND = {"deny_cidrs", "allow_cidrs"}
_HEARTBEAT = {"interval_seconds", "poll_wait_seconds"}
_SEATUNNEL = {"home", "engine_url", "version"}
_ALLOWLIST = {"types", "limits"}
_INSTALLER = {"root", "sources", "java_home"}


def load(path: str | Path | None) -> AgentConfig:
    """Read and check a config file (None: all defaults)."""
    if path is None:
        return AgentConfig()
    name = str(path)
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{name}: no such file") from None
    except OSError as error:
        raise ConfigError(f"{name}: cannot read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{name}: not valid TOML: {error}") from None
    return parse(raw, name=name)


def parse(raw: dict[str, Any], *, name: str = "config") -> AgentConfig:
    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{name}: {key}: {problem}")

    _no_unknown(raw, _TOP, "", fail)
    values: dict[str, Any] = {}
    if "server" in raw:
        values["server"] = check_server(_string(raw, "server", fail), fail)
    if "state_dir" in raw:
        values["state_dir"] = Path(_string(raw, "state_dir", fail)).expanduser()
    if "ca_file" in raw:
        values["ca_file"] = _string(raw, "ca_file", fail)
    if "member_address" in raw:
        address = _string(raw, "member_address", fail)
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise fail("member_address", f"must be host:port, got {address!r}")
        values["member_address"] = address
    if "max_workers" in raw:
        values["max_workers"] = _integer(raw, "max_workers", fail, 1, 64)
    if "expiry_skew_seconds" in raw:
        # At most the default: seen ids and nonces are kept for SKEW_SECONDS past expiry, and a wider allowance
        # would accept a replay the agent had already forgotten.
        values["expiry_skew_seconds"] = _integer(raw, "expiry_skew_seconds", fail, 0, SKEW_SECONDS)

    heartbeat = _table(raw, "heartbeat", fail)
    _no_unknown(heartbeat, _HEARTBEAT, "heartbeat.", fail)
    if "interval_seconds" in heartbeat:
        values["heartbeat_interval"] = float(_integer(heartbeat, "interval_seconds", fail, 1, 3600, "heartbeat."))
    if "poll_wait_seconds" in heartbeat:
        values["poll_wait"] = float(_integer(heartbeat, "poll_wait_seconds", fail, 1, 300, "heartbeat."))

    seatunnel = _table(raw, "seatunnel", fail)
    _no_unknown(seatunnel, _SEATUNNEL, "seatunnel.", fail)
    if "home" in seatunnel:
        values["seatunnel_home"] = Path(_string(seatunnel, "home", fail, "seatunnel.")).expanduser()
    if "engine_url" in seatunnel:
        url = _string(seatunnel, "engine_url", fail, "seatunnel.")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise fail("seatunnel.engine_url", f"must be an http(s) URL, got {url!r}")
        values["engine_url"] = url.rstrip("/")
    if "version" in seatunnel:
        values["seatunnel_version"] = _string(seatunnel, "version", fail, "seatunnel.")

    allowlist = _table(raw, "allowlist", fail)
    _no_unknown(allowlist, _ALLOWLIST, "allowlist.", fail)
    if "types" in allowlist:
        types = allowlist["types"]
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise fail("allowlist.types", "must be a list of action types")
        unknown = sorted(set(types) - set(catalog.SCHEMAS))
        if unknown:
            raise fail("allowlist.types", f"unknown action type(s) {', '.join(unknown)}")
        values["allowlist"] = frozenset(types)
    limits = _table(allowlist, "limits", fail, "allowlist.")
    checked: dict[str, dict[str, int]] = {}
    for action_type, table in limits.items():
        key = f"allowlist.limits.{action_type}"
        if action_type not in catalog.SCHEMAS:
            raise fail(key, "unknown action type")
        if not isinstance(table, dict):
            raise fail(key, "must be a table of parameter = maximum")
        checked[action_type] = {}
        for param, maximum in table.items():
            try:
                checked[action_type][param] = catalog.SCHEMAS[action_type].check_limit(param, maximum)
            except ValueError as error:
                raise fail(f"{key}.{param}", str(error)) from None
    values["limits"] = checked

    outbound = _table(raw, "outbound", fail)
    _no_unknown(outbound, _OUTBOUND, "outbound.", fail)
    cidrs: dict[str, list[str]] = {}
    for key in sorted(_OUTBOUND):
        value = outbound.get(key, [])
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            raise fail(f"outbound.{key}", "must be a list of CIDRs")
        cidrs[key.removesuffix("_cidrs")] = value
    try:
        values["outbound"] = OutboundPolicy.from_cidrs(**cidrs)
    except ValueError as error:
        raise fail("outbound", str(error)) from None

    installer = _table(raw, "installer", fail)
    _no_unknown(installer, _INSTALLER, "installer.", fail)
    if "root" in installer:
        root = Path(_string(installer, "root", fail, "installer.")).expanduser()
        if not root.is_absolute():
            raise fail("installer.root", f"must be an absolute path, got {str(root)!r}")
        values["install_root"] = root
    sources = installer.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) and s.strip() for s in sources):
        raise fail("installer.sources", "must be a list of directories")
    if any(not Path(s).expanduser().is_absolute() for s in sources):
        raise fail("installer.sources", "every directory must be an absolute path")
    values["install_sources"] = tuple(Path(s).expanduser() for s in sources)
    if "java_home" in installer:
        values["install_java_home"] = _string(installer, "java_home", fail, "installer.")

    for section in ("service", "worker"):
        if section in raw:
            table = _table(raw, section, fail)
            manager = table.get("manager")
            if manager not in MANAGERS:
                raise fail(f"{section}.manager", f"must be one of {', '.join(MANAGERS)}, got {manager!r}")
            values[section] = table
    config = AgentConfig(**values)
    # The managers check their own keys; import here because they import this module's ConfigError.
    from agent import managers

    for section in ("service", "worker"):
        table = getattr(config, section)
        if table is not None:
            try:
                managers.build(table, config, role=section)
            except ConfigError as error:
                raise fail(section, str(error)) from None
    return config


def check_server(url: str, fail: Any = None) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        message = f"must be an http(s) URL, got {url!r}"
        raise fail("server", message) if fail else ConfigError(f"server: {message}")
    return url.rstrip("/")


def _no_unknown(table: dict[str, Any], known: set[str], prefix: str, fail: Any) -> None:
    for key in table:
        if key not in known:
            raise fail(f"{prefix}{key}", f"unknown key (known: {', '.join(sorted(known))})")


def _table(raw: dict[str, Any], key: str, fail: Any, prefix: str = "") -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise fail(prefix + key, "must be a table")
    return value


def _string(raw: dict[str, Any], key: str, fail: Any, prefix: str = "") -> str:
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise fail(prefix + key, "must be a non-empty string")
    return value.strip()


def _integer(raw: dict[str, Any], key: str, fail: Any, low: int, high: int, prefix: str = "") -> int:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise fail(prefix + key, f"must be an integer from {low} to {high}, got {value!r}")
    return value
