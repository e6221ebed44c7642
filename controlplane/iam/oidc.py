"""OpenID Connect: verify an ID token from the configured issuer and map it to a local user.

Enabled by ``CONTROLPLANE_OIDC_ISSUER`` (with ``CONTROLPLANE_OIDC_CLIENT_ID``); see docs/AUTHENTICATION.md.
The issuer's discovery document and key set (JWKS) are fetched with httpx, with a short timeout, and cached
in the process for an hour; a token signed with a key id not in the cached set makes one early refetch (key
rotation), at most once a minute. An ID token is accepted when it is signed (RS256 or ES256) by a key of the
issuer's set, names the issuer, has the client id as audience, and is within its ``iat``/``exp`` window give or
take a minute.

As with LDAP, the identity provider only says who someone is: the local user starts with no role. The local
user is also tied to the token's subject (``iss`` + ``sub``): if the username claim later names someone else
(a renamed or recycled account), the login is refused instead of handing over the existing user.

The console's authorization-code flow (``/auth/oidc/login/`` and ``/auth/oidc/callback/``) is in
``controlplane.iam.api.oidc``; it uses ``authorization_url`` and ``exchange_code`` from here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx
import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend

from controlplane.iam.ldap import USERNAME_MAX, ExternalProfile, ExternalUserConflict, sync_external_user

log = logging.getLogger("controlplane.iam.oidc")

ALGORITHMS = ("RS256", "ES256")
KEY_TYPES = {"RS256": "RSA", "ES256": "EC"}
LEEWAY_SECONDS = 60
HTTP_TIMEOUT_SECONDS = 5.0
CACHE_SECONDS = 3600
JWKS_REFRESH_SECONDS = 60  # unknown key ids refetch the key set early at most this often
SCOPES = "openid profile email"


class OIDCError(Exception):
    """The token or the provider could not be trusted; the message says why (never the token itself)."""


@dataclass(frozen=True)
class ProviderConfig:
    issuer: str
    client_id: str
    client_secret: str | None = None
    username_claim: str = "preferred_username"

    @classmethod
    def from_settings(cls) -> ProviderConfig | None:
        issuer = getattr(settings, "CONTROLPLANE_OIDC_ISSUER", None)
        if not issuer:
            return None
        return cls(
            issuer=issuer,
            client_id=settings.CONTROLPLANE_OIDC_CLIENT_ID,
            client_secret=settings.CONTROLPLANE_OIDC_CLIENT_SECRET,
            username_claim=settings.CONTROLPLANE_OIDC_USERNAME_CLAIM,
        )


# --- the provider's documents, cached -----------------------------------------------------------------

_lock = threading.Lock()
_discovery: dict[str, tuple[float, dict]] = {}  # issuer -> (fetched at, document)
_jwks: dict[str, tuple[float, list[dict]]] = {}  # jwks_uri -> (fetched at, keys)
_forced: dict[str, float] = {}  # jwks_uri -> when an unknown key id last made us refetch early


def clear_cache() -> None:
    with _lock:
        _discovery.clear()
        _jwks.clear()
        _forced.clear()


def _get_json(url: str) -> dict:
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT_SECONDS, headers={"Accept": "application/json"})
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OIDCError(f"cannot fetch {url}: {type(exc).__name__}: {exc}") from None
    if not isinstance(body, dict):
        raise OIDCError(f"{url} did not answer with a JSON object")
    return body


def discovery(issuer: str) -> dict:
    """The issuer's ``/.well-known/openid-configuration``, checked to be about this issuer."""
    now = time.monotonic()
    with _lock:
        cached = _discovery.get(issuer)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    document = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    if document.get("issuer") != issuer:
        raise OIDCError(f"the discovery document names issuer {document.get('issuer')!r}, not {issuer!r}")
    for name in ("jwks_uri", "authorization_endpoint", "token_endpoint"):
        if name in document and not isinstance(document[name], str):
            raise OIDCError(f"the discovery document's {name} is not a URL")
    if not document.get("jwks_uri"):
        raise OIDCError("the discovery document names no jwks_uri")
    with _lock:
        _discovery[issuer] = (now, document)
    return document


def _key_set(jwks_uri: str, refresh: bool) -> list[dict]:
    """The issuer's keys; ``refresh`` asks for a fetch now, granted at most once a JWKS_REFRESH_SECONDS so that
    tokens with made-up key ids cannot make us hammer the provider."""
    now = time.monotonic()
    with _lock:
        cached = _jwks.get(jwks_uri)
        if refresh and cached is not None:
            refresh = now - _forced.get(jwks_uri, -JWKS_REFRESH_SECONDS) >= JWKS_REFRESH_SECONDS
            if refresh:
                _forced[jwks_uri] = now
    if cached is not None and now - cached[0] < CACHE_SECONDS and not refresh:
        return cached[1]
    keys = _get_json(jwks_uri).get("keys")
    if not isinstance(keys, list):
        raise OIDCError(f"{jwks_uri} holds no key list")
    keys = [key for key in keys if isinstance(key, dict)]
    with _lock:
        _jwks[jwks_uri] = (now, keys)
    return keys


def _pick(keys: list[dict], kid: str | None, alg: str) -> dict | None:
    usable = [k for k in keys if k.get("use", "sig") == "sig" and k.get("kty") == KEY_TYPES[alg]]
    if kid is not None:
        usable = [k for k in usable if k.get("kid") == kid]
    elif len(usable) != 1:  # no key id: only unambiguous with exactly one candidate
        return None
    return usable[0] if usable else None


def signing_key(config: ProviderConfig, kid: str | None, alg: str) -> Any:
    """The public key of the issuer's set with this key id, suitable for ``alg``."""
    jwks_uri = discovery(config.issuer)["jwks_uri"]
    jwk = _pick(_key_set(jwks_uri, refresh=False), kid, alg)
    if jwk is None:  # perhaps the provider rotated its keys since we fetched them
        jwk = _pick(_key_set(jwks_uri, refresh=True), kid, alg)
    if jwk is None:
        raise OIDCError(f"no {KEY_TYPES[alg]} signing key with id {kid!r} in the issuer's key set")
    if jwk.get("alg") not in (None, alg):
        raise OIDCError(f"key {kid!r} is for {jwk.get('alg')}, the token says {alg}")
    try:
        return jwt.PyJWK(jwk, algorithm=alg).key
    except jwt.PyJWKError as exc:
        raise OIDCError(f"key {kid!r} in the issuer's key set is unusable: {exc}") from None


# --- ID tokens -----------------------------------------------------------------------------------------


def verify_id_token(token: str, config: ProviderConfig, nonce: str | None = None) -> dict:
    """The claims of a valid ID token, or OIDCError saying what is wrong with it."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise OIDCError(f"not a JWT: {exc}") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise OIDCError(f"signature algorithm {alg!r} is not accepted (only {', '.join(ALGORITHMS)})")
    kid = header.get("kid")
    key = signing_key(config, kid if isinstance(kid, str) else None, alg)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=config.client_id,
            issuer=config.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "sub", "aud", "exp", "iat"], "verify_iat": True},
        )
    except jwt.ExpiredSignatureError:
        raise OIDCError("the token has expired") from None
    except jwt.InvalidAudienceError:
        raise OIDCError(f"the token is not for client {config.client_id!r}") from None
    except jwt.InvalidIssuerError:
        raise OIDCError(f"the token is not from issuer {config.issuer!r}") from None
    except jwt.InvalidSignatureError:
        raise OIDCError("the token's signature does not verify") from None
    except jwt.ImmatureSignatureError:
        raise OIDCError("the token is issued in the future") from None
    except jwt.PyJWTError as exc:
        raise OIDCError(f"the token is invalid: {exc}") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != config.client_id:
        raise OIDCError(f"the token's authorized party is {azp!r}, not {config.client_id!r}")
    if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise OIDCError("the token's nonce does not match this login")
    return claims


def subject_tag(issuer: str, subject: str) -> str:
    """A short, stable tag for (issuer, subject) kept with the local user it was first mapped to."""
    return hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()[:24]


class OIDCBackend(BaseBackend):
    """Django authentication backend for ``authenticate(request, id_token=..., nonce=...)``."""

    source = "oidc"

    def authenticate(self, request, id_token=None, nonce=None, **kwargs):  # type: ignore[no-untyped-def]
        config = ProviderConfig.from_settings()
        if config is None or not isinstance(id_token, str) or not id_token:
            return None
        try:
            claims = verify_id_token(id_token, config, nonce)
        except OIDCError as exc:
            log.warning("OIDC login refused: %s (issuer %s)", exc, config.issuer)
            return None
        username = claims.get(config.username_claim)
        if not isinstance(username, str) or not username.strip() or len(username) > USERNAME_MAX:
            log.warning(
                "OIDC login refused: the token of subject %r has no usable %s claim",
                claims["sub"],
                config.username_claim,
            )
            return None

        def text(claim: str) -> str:
            value = claims.get(claim)
            return value if isinstance(value, str) else ""

        profile = ExternalProfile(
            username=username.strip(),
            email=text("email"),
            first_name=text("given_name"),
            last_name=text("family_name"),
        )
        try:
            user = sync_external_user(self.source, profile, subject=subject_tag(config.issuer, str(claims["sub"])))
        except ExternalUserConflict as exc:
            log.warning("OIDC login refused: %s (local user %r, subject %r)", exc, profile.username, claims["sub"])
            return None
        return user if user.is_active else None

    def get_user(self, user_id):  # type: ignore[no-untyped-def]
        user = get_user_model()._default_manager.filter(pk=user_id).first()
        return user if user is not None and user.is_active else None


# --- the authorization-code flow (console) ------------------------------------------------------------


def pkce_challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorization_url(config: ProviderConfig, *, redirect_uri: str, state: str, nonce: str, verifier: str) -> str:
    endpoint = discovery(config.issuer).get("authorization_endpoint")
    if not endpoint:
        raise OIDCError("the discovery document names no authorization_endpoint")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": config.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def exchange_code(config: ProviderConfig, *, code: str, redirect_uri: str, verifier: str) -> str:
    """Trade an authorization code for the ID token at the token endpoint (client secret + PKCE verifier)."""
    document = discovery(config.issuer)
    endpoint = document.get("token_endpoint")
    if not endpoint:
        raise OIDCError("the discovery document names no token_endpoint")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
    headers = {"Accept": "application/json"}
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if config.client_secret and "client_secret_basic" in methods:
        # RFC 6749 2.3.1: both parts form-encoded before they are joined and base64-encoded
        pair = f"{quote_plus(config.client_id)}:{quote_plus(config.client_secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    elif config.client_secret:
        form.update(client_id=config.client_id, client_secret=config.client_secret)
    else:  # a public client: PKCE alone
        form["client_id"] = config.client_id
    try:
        response = httpx.post(endpoint, data=form, headers=headers, timeout=HTTP_TIMEOUT_SECONDS)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OIDCError(f"the token endpoint failed: {type(exc).__name__}: {exc}") from None
    if response.status_code != 200 or not isinstance(body, dict):
        error = body.get("error", "") if isinstance(body, dict) else ""
        raise OIDCError(f"the token endpoint refused the code: HTTP {response.status_code} {error}".rstrip())
    id_token = body.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise OIDCError("the token endpoint returned no id_token")
    return id_token
