"""The action catalog as the control plane knows it (docs/AGENT_PROTOCOL.md, "The catalog"): each type is a
template with a parameter schema; there are no free-form commands. The agent checks the same again against
its own catalog and local allowlist; this check only keeps nonsense from being signed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from controlplane.errors import DomainError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_JAR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,199}\.jar$")


@dataclass(frozen=True)
class Param:
    kind: type
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 500
    pattern: re.Pattern[str] | None = None


_TIMEOUT = {"timeout_seconds": Param(int, minimum=1, maximum=3600)}

ACTION_TYPES: dict[str, dict[str, Param]] = {
    "service.status": {},
    "service.start": _TIMEOUT,
    "service.stop": _TIMEOUT,
    "service.restart": _TIMEOUT,
    "worker.start": _TIMEOUT,
    "worker.stop": _TIMEOUT,
    "health.check": {"url": Param(str, max_length=300, pattern=re.compile(r"^https?://[^\s]+$"))},
    "snapshot.version_config": {},
    "log.tail": {
        "file": Param(str, required=True, max_length=300, pattern=re.compile(r"^(?!/)(?!.*\.\.)[^\x00]+$")),
        "lines": Param(int, minimum=1, maximum=5000),
    },
    "diagnostics.collect": {
        "since_minutes": Param(int, minimum=1, maximum=7 * 24 * 60),
        "include_thread_dump": Param(bool),
    },
    "plugin.install": {
        "name": Param(str, required=True, max_length=200, pattern=_JAR_NAME),
        "sha256": Param(str, required=True, max_length=64, pattern=_SHA256),
        "size": Param(int, required=True, minimum=1, maximum=2**31),
    },
}


class ActionParamsInvalid(DomainError):
    code = "AGENT_PARAMS_INVALID"


def check_type(action_type: str) -> None:
    if action_type not in ACTION_TYPES:
        raise DomainError(
            f"{action_type!r} is not in the action catalog", code="AGENT_ACTION_TYPE_UNKNOWN", field="type"
        )


def check_params(action_type: str, params: Any) -> dict[str, Any]:
    """The params if they fit the type's schema; AGENT_PARAMS_INVALID naming the first misfit otherwise."""
    check_type(action_type)
    schema = ACTION_TYPES[action_type]
    if not isinstance(params, dict):
        raise ActionParamsInvalid("params is an object", field="params")
    for name in params:
        if name not in schema:
            raise ActionParamsInvalid(f"{action_type} takes no parameter {name!r}", field=f"params.{name}")
    for name, spec in schema.items():
        if name not in params:
            if spec.required:
                raise ActionParamsInvalid(f"{action_type} needs {name!r}", field=f"params.{name}")
            continue
        value = params[name]
        # bool is an int in Python: keep the two apart.
        if type(value) is not spec.kind:
            raise ActionParamsInvalid(f"{name} is a {spec.kind.__name__}", field=f"params.{name}")
        if isinstance(value, int) and (
            (spec.minimum is not None and value < spec.minimum) or (spec.maximum is not None and value > spec.maximum)
        ):
            raise ActionParamsInvalid(f"{name} is {spec.minimum}..{spec.maximum}", field=f"params.{name}")
        if isinstance(value, str) and (
            len(value) > spec.max_length or (spec.pattern is not None and not spec.pattern.match(value))
        ):
            raise ActionParamsInvalid(f"{name} has an invalid value", field=f"params.{name}")
    return dict(params)
