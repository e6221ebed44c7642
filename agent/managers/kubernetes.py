"""Kubernetes through kubectl: `rollout restart`, `scale --replicas` for stop/start, `get -o json` for state.

Not run against a real cluster here (none on the development machine); tests drive a fake `kubectl` on
PATH that records its argv and answers `get -o json` like the API server.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from agent.managers import base
from agent.managers.base import ServiceManager, ServiceStatus


class KubernetesManager(ServiceManager):
    kind = "kubernetes"

    def __init__(self, table: dict[str, Any]) -> None:
        super().__init__()
        base.known_keys(table, {"namespace", "kind", "name", "replicas", "context", "kubectl"})
        self.namespace = base.string(table, "namespace", "default")
        self.workload = base.string(table, "kind", "statefulset")
        if self.workload not in ("deployment", "statefulset"):
            raise base.ConfigError("kind must be 'deployment' or 'statefulset'")
        self.name = base.string(table, "name")
        self.replicas = base.integer(table, "replicas", 1, 1, 1000)
        self.context = table.get("context")
        if self.context is not None:
            self.context = base.string(table, "context")
        self.kubectl = base.string(table, "kubectl", "kubectl")

    @property
    def target(self) -> str:
        return f"{self.workload}/{self.name}"

    def _argv(self, *args: str) -> list[str]:
        argv = [self.kubectl]
        if self.context:
            argv += ["--context", self.context]
        return [*argv, "-n", self.namespace, *args]

    def _rollout_status(self, timeout: float) -> None:
        base.run_tool(self._argv("rollout", "status", self.target, f"--timeout={int(timeout)}s"), timeout + 15)

    def start(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, Any]:
        base.run_tool(self._argv("scale", self.target, f"--replicas={self.replicas}"), 30)
        self._rollout_status(timeout)
        return {"status": self.status().to_json()}

    def stop(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, Any]:
        base.run_tool(self._argv("scale", self.target, "--replicas=0"), 30)
        deadline = time.monotonic() + timeout
        while True:  # rollout status does not wait for a scale to zero
            status = self.status()
            if status.state == base.STOPPED:
                return {"status": status.to_json()}
            if time.monotonic() > deadline:
                raise base.ManagerError(base.TIMEOUT, f"{self.target} still has pods after {timeout:g} s")
            if cancel is not None and cancel.wait(1):
                raise base.ManagerError(base.CANCELLED, "cancelled while waiting for the pods to go")

    def restart(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, Any]:
        base.run_tool(self._argv("rollout", "restart", self.target), 30)
        self._rollout_status(timeout)
        return {"status": self.status().to_json()}

    def status(self) -> ServiceStatus:
        try:
            out = base.run_tool(self._argv("get", self.workload, self.name, "-o", "json"), 15).stdout
            obj = json.loads(out)
        except base.ManagerError as error:
            return ServiceStatus(base.UNKNOWN, detail={"error": error.message})
        except ValueError:
            return ServiceStatus(base.UNKNOWN, detail={"error": "kubectl get printed no JSON"})
        desired = int(obj.get("spec", {}).get("replicas", 1) or 0)
        st = obj.get("status", {})
        current = int(st.get("replicas", 0) or 0)
        ready = int(st.get("readyReplicas", 0) or 0)
        if desired == 0:
            state = base.STOPPING if current else base.STOPPED
        elif ready >= desired and int(st.get("updatedReplicas", ready) or 0) >= desired:
            state = base.RUNNING
        else:
            state = base.STARTING
        return ServiceStatus(state, detail={"desired_replicas": desired, "ready_replicas": ready, "replicas": current})
