"""Every login attempt, console or API, lands on the audit trail; failures feed the throttle."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from controlplane.audit.recorder import record
from controlplane.iam import throttle
from controlplane.iam.backends import request_address


@receiver(user_login_failed)
def login_failed(sender, credentials, request=None, **kwargs):  # type: ignore[no-untyped-def]
    username = str(credentials.get("username", ""))[:150]
    address = request_address(request)
    locked = throttle.retry_after(username, address) > 0
    if not locked:
        throttle.note_failure(username, address)
    record(
        action="auth.login",
        resource_type="session",
        result="denied",
        actor_kind="anonymous",
        actor_id=username,
        error_code="LOGIN_THROTTLED" if locked else "LOGIN_FAILED",
        request_id=getattr(request, "request_id", "") if request is not None else "",
        client_address=address,
        user_agent=request.META.get("HTTP_USER_AGENT", "") if request is not None else "",
    )


@receiver(user_logged_in)
def logged_in(sender, request, user, **kwargs):  # type: ignore[no-untyped-def]
    throttle.clear(user.get_username(), request_address(request))
    record(
        action="auth.login",
        resource_type="session",
        result="ok",
        actor_kind="user",
        actor_id=user.get_username(),
        request_id=getattr(request, "request_id", "") if request is not None else "",
        client_address=request_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "") if request is not None else "",
    )
