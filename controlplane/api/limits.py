"""Input limits shared by the API and the agent endpoints: the largest request body and the deepest JSON.

Both are checked before a body is parsed, so an oversized or absurdly nested request costs one linear scan
and never reaches a parser (the standard library's recursion gives up around 1,000 levels with a 500, and
orjson refuses to store more than 254 levels in the event log). Settings: ``MAX_REQUEST_BYTES`` and
``MAX_JSON_DEPTH`` (docs/CONFIGURATION.md).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings

from controlplane.errors import DomainError

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class RequestTooLarge(DomainError):
    code = "REQUEST_TOO_LARGE"


class JsonTooDeep(DomainError):
    code = "JSON_TOO_DEEP"


class MalformedRequest(DomainError):
    code = "MALFORMED_REQUEST"


def max_body_bytes() -> int:
    return int(settings.MAX_REQUEST_BYTES)


def max_json_depth() -> int:
    return int(settings.MAX_JSON_DEPTH)


def check_size(size: int) -> None:
    if size > max_body_bytes():
        raise RequestTooLarge(f"the request body is larger than {max_body_bytes()} bytes", limit=max_body_bytes())


def check_depth(raw: bytes) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH arrays and objects (strings are skipped, not counted)."""
    limit, depth = max_json_depth(), 0
    for bracket in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > limit:
            raise JsonTooDeep(f"the JSON body is nested deeper than {limit} levels", limit=limit)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A request body that must be one JSON object: depth, syntax and shape checked in that order (the caller
    bounds its size first)."""
    check_depth(raw)
    try:
        body = json.loads(raw or b"{}", parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise MalformedRequest("the body must be a JSON object")
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
