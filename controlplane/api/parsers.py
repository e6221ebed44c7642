"""The API's only request parser: a JSON object, within the size and depth limits (controlplane/api/limits.py).

Any other content type is refused by DRF with 415 UNSUPPORTED_MEDIA_TYPE; a body that is valid JSON but not
an object (``[]``, ``"x"``, ``1``) is MALFORMED_REQUEST, so views may treat ``request.data`` as a mapping.
"""

from __future__ import annotations

from typing import Any

from rest_framework.parsers import JSONParser

from controlplane.api import limits


class JsonObjectParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        raw = stream.read(limits.max_body_bytes() + 1) if stream is not None else b""
        limits.check_size(len(raw))  # the middleware saw Content-Length; this holds whatever the header said
        return limits.parse_json_object(raw)
