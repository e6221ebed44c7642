"""The console's OpenID Connect sign-in (authorization-code flow with state, nonce and PKCE).

``GET /auth/oidc/login/?next=/path`` sends the browser to the identity provider; ``GET /auth/oidc/callback/``
checks the state, trades the code for an ID token with the client secret, verifies the token (nonce included)
through ``OIDCBackend`` and starts a session. Both answer 404 while OIDC is not configured. Mount with
``path("auth/oidc/", include("controlplane.iam.api.oidc"))``.
"""

from __future__ import annotations

import logging
import secrets
import time

from django.contrib.auth import authenticate, login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from controlplane.audit.recorder import record_request
from controlplane.iam.oidc import OIDCError, ProviderConfig, authorization_url, exchange_code

log = logging.getLogger("controlplane.iam.oidc")

SESSION_KEY = "controlplane_oidc_pending"
PENDING_SECONDS = 600  # a sign-in must come back from the provider within ten minutes
PENDING_MAX = 5  # sign-ins started in other tabs that may still come back


def _config() -> ProviderConfig:
    config = ProviderConfig.from_settings()
    if config is None:
        raise Http404("OpenID Connect is not configured")
    return config


def _redirect_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("oidc-callback"))


def _refuse(request: HttpRequest, status: int, code: str, message: str, result: str = "denied") -> HttpResponse:
    record_request(request, action="auth.login", resource_type="session", result=result, error_code=code)
    return HttpResponse(f"Sign-in failed: {message}\n", status=status, content_type="text/plain; charset=utf-8")


@require_GET
@never_cache
def oidc_login(request: HttpRequest) -> HttpResponse:
    config = _config()
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    try:
        target = authorization_url(
            config, redirect_uri=_redirect_uri(request), state=state, nonce=nonce, verifier=verifier
        )
    except OIDCError as exc:
        log.warning("OIDC sign-in cannot start: %s (issuer %s)", exc, config.issuer)
        return _refuse(request, 502, "OIDC_PROVIDER_UNAVAILABLE", "the identity provider is unavailable", "failed")
    now = time.time()
    pending = {
        key: value
        for key, value in request.session.get(SESSION_KEY, {}).items()
        if now - value.get("at", 0) < PENDING_SECONDS
    }
    pending[state] = {"nonce": nonce, "verifier": verifier, "next": next_url, "at": now}
    request.session[SESSION_KEY] = dict(sorted(pending.items(), key=lambda item: item[1]["at"])[-PENDING_MAX:])
    return HttpResponseRedirect(target)


@require_GET
@never_cache
def oidc_callback(request: HttpRequest) -> HttpResponse:
    config = _config()
    pending = request.session.get(SESSION_KEY, {})
    state = request.GET.get("state", "")
    started = pending.pop(state, None) if state else None  # each state is good for one callback only
    request.session[SESSION_KEY] = pending
    if started is None or time.time() - started.get("at", 0) >= PENDING_SECONDS:
        return _refuse(request, 400, "OIDC_STATE_INVALID", "this sign-in was not started here, or has expired")
    if "error" in request.GET:
        log.warning("OIDC sign-in refused by the provider: %s", request.GET.get("error", "")[:100])
        return _refuse(request, 403, "OIDC_PROVIDER_REFUSED", "the identity provider refused the sign-in")
    code = request.GET.get("code", "")
    if not code:
        return _refuse(request, 400, "OIDC_CODE_MISSING", "the identity provider sent no code")
    try:
        id_token = exchange_code(config, code=code, redirect_uri=_redirect_uri(request), verifier=started["verifier"])
    except OIDCError as exc:
        log.warning("OIDC sign-in failed: %s (issuer %s)", exc, config.issuer)
        return _refuse(request, 502, "OIDC_EXCHANGE_FAILED", "the identity provider did not confirm the sign-in")
    # A refused token is audited (LOGIN_FAILED) by the user_login_failed signal; a success by user_logged_in.
    user = authenticate(request, id_token=id_token, nonce=started["nonce"])
    if user is None:
        return HttpResponse(
            "Sign-in failed: the identity could not be verified\n", status=403, content_type="text/plain"
        )
    login(request, user)
    return HttpResponseRedirect(started["next"])


urlpatterns = [
    path("login/", oidc_login, name="oidc-login"),
    path("callback/", oidc_callback, name="oidc-callback"),
]
