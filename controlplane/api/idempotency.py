"""The ``Idempotency-Key`` header on POSTs that create or start things.

The first request with a key runs and its 2xx response is stored; a retry with the same key and the same
request gets that response again (header ``Idempotent-Replayed: true``); the same key with a different
request is refused (IDEMPOTENCY_KEY_REUSED); a retry while the first is still running gets
IDEMPOTENCY_IN_PROGRESS. Failed requests store nothing, so they can be retried with the same key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from functools import wraps

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from controlplane.api.models import IdempotencyRecord
from controlplane.audit.recorder import request_actor
from controlplane.errors import DomainError

_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class IdempotencyError(DomainError):
    code = "IDEMPOTENCY_KEY_INVALID"


def idempotent(view_method: Callable) -> Callable:
    """Decorate a viewset method (create or a POST action) to honour Idempotency-Key."""

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view_method(self, request, *args, **kwargs)
        if not _KEY.match(key):
            raise IdempotencyError("Idempotency-Key must be 1..128 characters of A-Z a-z 0-9 . _ : -")
        kind, actor_id = request_actor(request)
        actor = f"{kind}:{actor_id}"
        fingerprint = hashlib.sha256(
            b"\x1f".join([request.method.encode(), request.path.encode(), request.body])
        ).hexdigest()
        existing = IdempotencyRecord.objects.filter(actor=actor, key=key).first()
        if existing is not None:
            return _replay(existing, fingerprint)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(actor=actor, key=key, fingerprint=fingerprint)
        except IntegrityError:
            return _replay(IdempotencyRecord.objects.get(actor=actor, key=key), fingerprint)
        try:
            response = view_method(self, request, *args, **kwargs)
        except BaseException:
            record.delete()
            raise
        if 200 <= response.status_code < 300:
            record.completed = True
            record.status_code = response.status_code
            record.response_body = json.dumps(response.data, default=str)
            record.save(update_fields=["completed", "status_code", "response_body"])
        else:
            record.delete()
        return response

    return wrapper


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise IdempotencyError("this Idempotency-Key was used for a different request", code="IDEMPOTENCY_KEY_REUSED")
    if not record.completed:
        raise IdempotencyError("a request with this Idempotency-Key is still running", code="IDEMPOTENCY_IN_PROGRESS")
    return Response(
        json.loads(record.response_body), status=record.status_code, headers={"Idempotent-Replayed": "true"}
    )
