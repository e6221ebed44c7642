"""The base of every request-body serializer: JSON types are taken as the OpenAPI document states them.

DRF coerces on its own: ``"name": 12`` becomes "12", ``"enabled": "yes"`` becomes True, ``"clusters": "3"`` becomes
3. The document says string, boolean, integer, so a client (or a fuzzer) sending the wrong type is told so with
VALIDATION_FAILED instead of having its value silently reinterpreted.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

_TYPES: list[tuple[type, tuple[type, ...], str]] = [
    (serializers.BooleanField, (bool,), "a boolean"),
    (serializers.IntegerField, (int,), "an integer"),
    (serializers.FloatField, (int, float), "a number"),
    (serializers.DictField, (dict,), "an object"),
    (serializers.ListField, (list,), "a list"),
    (serializers.MultipleChoiceField, (list,), "a list"),
    (serializers.Serializer, (dict,), "an object"),
    (serializers.CharField, (str,), "a string"),
    (serializers.ChoiceField, (str,), "a string"),
    (serializers.DateTimeField, (str,), "a string"),
]


def type_errors(field: serializers.Field, value: Any) -> list[str]:
    """What is wrong with the JSON type of ``value`` for ``field`` (and, in objects and lists, its children)."""
    if value is None:
        return [] if getattr(field, "allow_null", False) else ["This field may not be null."]
    for kind, allowed, name in _TYPES:
        if isinstance(field, kind):
            if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
                return [f"Must be {name}."]
            break
    child = getattr(field, "child", None)
    if isinstance(field, serializers.DictField) and child is not None:
        return [f"{key}: {e}" for key, item in value.items() for e in type_errors(child, item)]
    if isinstance(field, serializers.ListField) and child is not None:
        return [f"[{i}]: {e}" for i, item in enumerate(value) for e in type_errors(child, item)]
    return []


class Input(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            errors = {
                name: problems
                for name, field in self.fields.items()
                if not field.read_only and name in data and (problems := type_errors(field, data[name]))
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
