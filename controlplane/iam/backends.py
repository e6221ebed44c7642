"""Authentication backends. Password logins go through ``ThrottledModelBackend``; LDAP and OIDC plug in here.

External identity (LDAP, OIDC) only authenticates: roles are still granted in the control plane.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from controlplane.iam import throttle


def request_address(request: HttpRequest | None) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


class ThrottledModelBackend(ModelBackend):
    """Django's password check, refused outright while this (user name, address) pair must wait."""

    def authenticate(self, request, username=None, password=None, **kwargs):  # type: ignore[no-untyped-def]
        if throttle.retry_after(username or "", request_address(request)) > 0:
            # Django then sends user_login_failed (audited) and stops trying other backends.
            raise PermissionDenied("LOGIN_THROTTLED")
        return super().authenticate(request, username=username, password=password, **kwargs)
