"""Service managers (see base.py for the interface) and the factory that builds one from a config table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.managers.base import ManagerError, ServiceManager, ServiceStatus

if TYPE_CHECKING:
    from agent.config import AgentConfig

__all__ = ["ManagerError", "ServiceManager", "ServiceStatus", "build", "logs_dir"]


def logs_dir(config: AgentConfig) -> Path:
    """Where SeaTunnel writes its logs: <home>/logs, or <state_dir>/logs when no home is configured."""
    return (config.seatunnel_home or config.state_dir) / "logs"


def build(table: dict[str, Any], config: AgentConfig, *, role: str = "service") -> ServiceManager:
    from agent.managers.compose import ComposeManager
    from agent.managers.kubernetes import KubernetesManager
    from agent.managers.process import ProcessManager
    from agent.managers.systemd import SystemdManager

    settings = {k: v for k, v in table.items() if k != "manager"}
    kind = table.get("manager")
    if kind == "systemd":
        return SystemdManager(settings)
    if kind == "compose":
        return ComposeManager(settings)
    if kind == "kubernetes":
        return KubernetesManager(settings)
    if kind == "process":
        return ProcessManager(settings, state_dir=config.state_dir, log_dir=logs_dir(config), role=role)
    from agent.config import ConfigError

    raise ConfigError(f"unknown manager {kind!r}")
