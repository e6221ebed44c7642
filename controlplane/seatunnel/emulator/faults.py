"""Failure injection: which faults exist, the engine's error texts for them, and how a job picks one up.

The texts are the fingerprints of ZETA_FACTS §8.1 (rows 1, 7, 11, 13, 16) wrapped the way errorMsg shows a
Java stack: exception class, message, a few frames, a Caused by line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

UNKNOWN_PLUGIN = "unknown_plugin"
MISSING_JDBC_DRIVER = "missing_jdbc_driver"
CHECKPOINT_TIMEOUT = "checkpoint_timeout"
OUT_OF_MEMORY = "out_of_memory"
NOT_ENOUGH_SLOTS = "not_enough_slots"

RUNTIME_FAULTS = (MISSING_JDBC_DRIVER, CHECKPOINT_TIMEOUT, OUT_OF_MEMORY, NOT_ENOUGH_SLOTS)
ALL_FAULTS = (UNKNOWN_PLUGIN, *RUNTIME_FAULTS)

# The job config's env keys the emulator reads; a real engine ignores them.
ENV_FAULT = "emulator.fault"
ENV_FAULT_AFTER_MS = "emulator.fault.after_ms"
ENV_DURATION_MS = "emulator.duration_ms"
# Accept the submit, create the job, then close the connection without an answer: the client cannot know the
# outcome and must reconcile by job id (ZETA_SUBMIT_OUTCOME_UNKNOWN).
ENV_LOSE_SUBMIT_ANSWER = "emulator.lose_submit_answer"


def loses_submit_answer(config: Any) -> bool:
    env = config.get("env") if isinstance(config, dict) else None
    if not isinstance(env, dict):
        return False
    nested = env.get("emulator")
    value = env.get(ENV_LOSE_SUBMIT_ANSWER, nested.get("lose_submit_answer") if isinstance(nested, dict) else None)
    return str(value).lower() == "true"


DEFAULT_AFTER_MS = {MISSING_JDBC_DRIVER: 300, CHECKPOINT_TIMEOUT: 1500, OUT_OF_MEMORY: 800, NOT_ENOUGH_SLOTS: 0}


def plugin_not_found(plugin_type: str, plugin_name: str) -> str:
    return (
        f"Plugin PluginIdentifier{{engineType='seatunnel', pluginType='{plugin_type}', "
        f"pluginName='{plugin_name}'}} not found."
    )


def error_text(fault: str, *, job_id: int, driver: str = "com.mysql.cj.jdbc.Driver") -> str:
    """The errorMsg a failed job shows in /job-info and /finished-jobs."""
    if fault == MISSING_JDBC_DRIVER:
        return (
            "org.apache.seatunnel.connectors.seatunnel.jdbc.exception.JdbcConnectorException: "
            f"ErrorCode:[JDBC-01], ErrorDescription:[Fail to create driver of class] - "
            f"Fail to create driver of class {driver}\n"
            "\tat org.apache.seatunnel.connectors.seatunnel.jdbc.internal.connection."
            "SimpleJdbcConnectionProvider.loadDriver(SimpleJdbcConnectionProvider.java:118)\n"
            f"Caused by: java.lang.ClassNotFoundException: {driver}\n"
            "\tat java.net.URLClassLoader.findClass(URLClassLoader.java:387)\n"
        )
    if fault == CHECKPOINT_TIMEOUT:
        return (
            "org.apache.seatunnel.engine.server.checkpoint.CheckpointException: "
            "Checkpoint expired before completing. Please increase checkpoint timeout in the seatunnel.yaml "
            "or jobConfig env.\n"
            "\tat org.apache.seatunnel.engine.server.checkpoint.CheckpointCoordinator."
            "handleCoordinatorError(CheckpointCoordinator.java:280)\n"
        )
    if fault == OUT_OF_MEMORY:
        return (
            "java.lang.OutOfMemoryError: Java heap space\n"
            "\tat java.util.Arrays.copyOf(Arrays.java:3236)\n"
            "\tat org.apache.seatunnel.engine.server.task.flow.SourceFlowLifeCycle.collect"
            "(SourceFlowLifeCycle.java:159)\n"
        )
    if fault == NOT_ENOUGH_SLOTS:
        return (
            "org.apache.seatunnel.engine.server.resourcemanager.NoEnoughResourceException: "
            "can't apply resource request\n"
            f"Job Resource not enough, jobId: {job_id}\n"
            "\tat org.apache.seatunnel.engine.server.resourcemanager.AbstractResourceManager."
            "applyResources(AbstractResourceManager.java:190)\n"
        )
    raise ValueError(f"unknown fault {fault!r}")


@dataclass(frozen=True)
class JobFaultRule:
    fault: str
    job_name: str | None = None
    plugin: str | None = None
    after_ms: int | None = None


@dataclass(frozen=True)
class FaultPlan:
    """What a --faults file asks for. Every part is optional."""

    missing_plugins: frozenset[str] = frozenset()
    missing_jdbc_drivers: frozenset[str] = frozenset()
    slots: int | None = None
    jobs: tuple[JobFaultRule, ...] = field(default_factory=tuple)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultPlan:
        unknown = set(data) - {"missing_plugins", "missing_jdbc_drivers", "slots", "jobs"}
        if unknown:
            raise ValueError(f"unknown keys in faults file: {sorted(unknown)}")
        rules = []
        for item in data.get("jobs", []):
            fault = item.get("fault")
            if fault not in RUNTIME_FAULTS:
                raise ValueError(f"jobs[].fault must be one of {RUNTIME_FAULTS}, not {fault!r}")
            rules.append(
                JobFaultRule(
                    fault=fault,
                    job_name=item.get("job_name"),
                    plugin=item.get("plugin"),
                    after_ms=item.get("after_ms"),
                )
            )
        slots = data.get("slots")
        if slots is not None and (not isinstance(slots, int) or slots < 0):
            raise ValueError("slots must be a non-negative integer")
        return cls(
            missing_plugins=frozenset(p.lower() for p in data.get("missing_plugins", [])),
            missing_jdbc_drivers=frozenset(data.get("missing_jdbc_drivers", [])),
            slots=slots,
            jobs=tuple(rules),
        )

    @classmethod
    def load(cls, path: str | Path) -> FaultPlan:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def rule_for(self, job_name: str, plugin_names: list[str]) -> JobFaultRule | None:
        lowered = {p.lower() for p in plugin_names}
        for rule in self.jobs:
            if rule.job_name is not None and rule.job_name != job_name:
                continue
            if rule.plugin is not None and rule.plugin.lower() not in lowered:
                continue
            return rule
        return None
