"""The action catalog as the control plane knows it (docs/AGENT_PROTOCOL.md, "The catalog"): each type is a
template with a parameter schema; there are no free-form commands. The schemas are the agent package's JSON
Schemas (agent/schemas/<type>.json), so the control plane refuses exactly what an agent would refuse on schema
grounds; the agent checks again, and adds its node's policy (local allowlist, lower limits, a local url host)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from agent import schemas
from controlplane.errors import DomainError

# type -> its JSON Schema (read-only)
ACTION_TYPES = MappingProxyType({action_type: schemas.schema(action_type) for action_type in schemas.types()})


# What requesting an action needs, beyond seeing the agent: running things on nodes is operation.run; putting
# SeaTunnel on a node, or taking it off, needs what the installer's operations need (docs/INSTALLER.md).
POINTS = MappingProxyType(
    {
        "installer.install": "cluster.install",
        "installer.uninstall": "cluster.install",
        "installer.upgrade": "cluster.upgrade",
        "installer.rollback": "cluster.upgrade",
    }
)


def point_for(action_type: str) -> str:
    """The permission point a request of this action type needs (operation.run unless POINTS says more)."""
    return POINTS.get(action_type, "operation.run")


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
    try:
        return schemas.validate(action_type, params)
    except schemas.ParamsInvalid as error:
        field = "params" if error.field is None else f"params.{error.field}"
        raise ActionParamsInvalid(error.message, field=field) from None
