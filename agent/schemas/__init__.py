"""The action catalog's contract: one JSON Schema per action type, `agent/schemas/<type>.json`.

Both sides validate with these files and this module: the control plane before it signs and queues an action
(`controlplane.agents.domain.catalog`), the agent before it runs one (`agent.catalog`, `agent.verify`). There is
no second copy of a limit anywhere (docs/AGENT_PROTOCOL.md, "The catalog"; docs/adr/0017).

`problem(type, params)` names the first misfit as `(field, message)`; `validate` raises it as `ParamsInvalid`.
The order is stable: params not an object, unknown parameters, missing ones, then each parameter in the
schema's order (type, length, pattern, range). Integers are strict: `true` and `5.0` are not integers.
An agent may lower a maximum locally (`limits`), which validates against a copy of the schema with the lower
maximum; nothing can raise one.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)

_KIND = {"integer": "an integer", "boolean": "true or false", "string": "a string", "object": "an object"}
_KEYWORD_ORDER = ("type", "maxLength", "pattern", "minimum", "maximum")


class ParamsInvalid(ValueError):
    """The params do not fit the type's schema; `field` names the parameter (None: the params as a whole)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@cache
def _load_all() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for entry in resources.files(__name__).iterdir():
        if entry.name.endswith(".json"):
            schema = json.loads(entry.read_text(encoding="utf-8"))
            _Validator.check_schema(schema)
            found[entry.name.removesuffix(".json")] = schema
    return dict(sorted(found.items()))


def types() -> tuple[str, ...]:
    """Every action type of the catalog, sorted."""
    return tuple(_load_all())


def schema(action_type: str) -> dict[str, Any]:
    """The type's JSON Schema (a copy); KeyError for a type that is not in the catalog."""
    return copy.deepcopy(_load_all()[action_type])


def integer_bounds(action_type: str, name: str) -> tuple[int, int | None]:
    """(minimum, maximum) of an integer parameter; ValueError if `name` is not one."""
    prop = _load_all()[action_type]["properties"].get(name)
    if prop is None or prop.get("type") != "integer":
        raise ValueError("not an integer parameter of this type")
    return prop.get("minimum", 0), prop.get("maximum")


def defaults(action_type: str) -> dict[str, Any]:
    """The parameters that have a default, with it."""
    props = _load_all()[action_type]["properties"]
    return {name: prop["default"] for name, prop in props.items() if "default" in prop}


@cache
def _validator(action_type: str, limits: tuple[tuple[str, int], ...] = ()) -> Any:
    checked = schema(action_type)
    for name, maximum in limits:
        prop = checked["properties"][name]
        prop["maximum"] = min(prop.get("maximum", maximum), maximum)
    return _Validator(checked)


def problem(action_type: str, params: Any, limits: dict[str, int] | None = None) -> tuple[str | None, str] | None:
    """The first misfit of `params` as (field, message), or None when they fit. KeyError for an unknown type."""
    full = _load_all()[action_type]
    known = list(full["properties"])
    usable = tuple(sorted((k, v) for k, v in (limits or {}).items() if k in known))
    errors = list(_validator(action_type, usable).iter_errors(params))
    if not errors:
        return None

    def rank(error: Any) -> tuple[int, int, int]:
        if not error.path:
            return (0, {"type": 0, "additionalProperties": 1, "required": 2}.get(error.validator, 3), 0)
        name = error.path[0]
        keyword = _KEYWORD_ORDER.index(error.validator) if error.validator in _KEYWORD_ORDER else len(_KEYWORD_ORDER)
        return (1, known.index(name) if name in known else len(known), keyword)

    error = min(errors, key=rank)
    if not error.path:
        if error.validator == "additionalProperties":
            unknown = sorted(set(params) - set(known))
            return unknown[0], f"unknown parameter(s) {', '.join(unknown)}"
        if error.validator == "required":
            missing = next(name for name in error.validator_value if name not in params)
            return missing, f"{missing} is required"
        return None, "params must be an object"
    name = str(error.path[0])
    value = error.instance
    if error.validator == "type":
        return name, f"{name} must be {_KIND.get(error.validator_value, error.validator_value)}"
    if error.validator == "minimum":
        return name, f"{name} must be at least {error.validator_value}"
    if error.validator == "maximum":
        return name, f"{name} must be at most {error.validator_value}"
    if error.validator == "maxLength":
        return name, f"{name} is longer than {error.validator_value} characters"
    if error.validator == "pattern":
        why = error.schema.get("x-pattern-message", "is not allowed")
        return name, f"{name} {value!r} {why}"
    return name, f"{name}: {error.message}"


def validate(action_type: str, params: Any, limits: dict[str, int] | None = None) -> dict[str, Any]:
    """A copy of `params` if they fit the type's schema; ParamsInvalid naming the first misfit otherwise."""
    found = problem(action_type, params, limits)
    if found is not None:
        raise ParamsInvalid(found[1], field=found[0])
    return dict(params)
