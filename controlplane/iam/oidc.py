"""OpenID Connect: verify an ID token from the configured issuer and map it to a local user.

Enabled by ``CONTROLPLANE_OIDC_ISSUER`` (with ``CONTROLPLANE_OIDC_CLIENT_ID``); see docs/AUTHENTICATION.md.
The protocol is Authlib's (ADR 0020): its OAuth 2 client builds the authorization URL (state, nonce, PKCE S256)
and trades the code at the token endpoint, over httpx with a short timeout; joserfc (Authlib's JOSE library)
verifies the ID token's signature and Authlib's ``CodeIDToken`` its claims (``iss``, ``aud``, ``azp``, ``exp``,
``iat``, ``nonce``). What stays here is policy: which algorithms and keys count, the discovery document must be
about this issuer, and the process cache of the provider's documents (an hour; a token signed with a key id not
in the cached set makes one early refetch, key rotation, at most once a minute).

As with LDAP, the identity provider only says who someone is: the local user starts with no role. The local
user is also tied to the token's subject (``iss`` + ``sub``): if the username claim later names someone else
(a renamed or recycled account), the login is refused instead of handing over the existing user.

The console's authorization-code flow (``/auth/oidc/login/`` and ``/auth/oidc/callback/``) is in
``controlplane.iam.api.oidc``; it uses ``authorization_url`` and ``exchange_code`` from here.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx
from authlib.oauth2 import OAuth2Client, OAuth2Error
from authlib.oidc.core import CodeIDToken
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, InvalidClaimError, JoseError, MissingClaimError
from joserfc.jwk import JWKRegistry

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
    """The public key of the issuer's set with this key id, suitable for ``alg`` (a joserfc key)."""
    jwks_uri = discovery(config.issuer)["jwks_uri"]
    jwk = _pick(_key_set(jwks_uri, refresh=False), kid, alg)
    if jwk is None:  # perhaps the provider rotated its keys since we fetched them
        jwk = _pick(_key_set(jwks_uri, refresh=True), kid, alg)
    if jwk is None:
        raise OIDCError(f"no {KEY_TYPES[alg]} signing key with id {kid!r} in the issuer's key set")
    if jwk.get("alg") not in (None, alg):
        raise OIDCError(f"key {kid!r} is for {jwk.get('alg')}, the token says {alg}")
    try:
        return JWKRegistry.import_key(jwk)
    except (JoseError, ValueError, TypeError) as exc:
        raise OIDCError(f"key {kid!r} in the issuer's key set is unusable: {exc}") from None


# --- ID tokens -----------------------------------------------------------------------------------------


def verify_id_token(token: str, config: ProviderConfig, nonce: str | None = None) -> dict:
    """The claims of a valid ID token, or OIDCError saying what is wrong with it."""
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError) as exc:
        raise OIDCError(f"not a JWT: {exc}") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:  # before any key is looked at: no "none", no HMAC keyed with a public key
        raise OIDCError(f"signature algorithm {alg!r} is not accepted (only {', '.join(ALGORITHMS)})")
    kid = header.get("kid")
    key = signing_key(config, kid if isinstance(kid, str) else None, alg)
    try:
        decoded = jwt.decode(token, key, algorithms=[alg])
    except JoseError:
        raise OIDCError("the token's signature does not verify") from None
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        options={
            "iss": {"essential": True, "value": config.issuer},
            "aud": {"essential": True, "value": config.client_id},
        },
        # client_id makes Authlib check azp: required with several audiences, and then this client's id
        params={"client_id": config.client_id, "nonce": nonce},
    )
    try:
        claims.validate(leeway=LEEWAY_SECONDS)
    except ExpiredTokenError:
        raise OIDCError("the token has expired") from None
    except MissingClaimError as exc:
        raise OIDCError(f"the token has no {exc.claim} claim") from None
    except InvalidClaimError as exc:
        raise OIDCError(_INVALID_CLAIM.get(exc.claim, f"the token's {exc.claim} is invalid").format(config)) from None
    except JoseError as exc:
        raise OIDCError(f"the token is invalid: {exc}") from None
    return dict(claims)


_INVALID_CLAIM = {
    "aud": "the token is not for client {0.client_id!r}",
    "iss": "the token is not from issuer {0.issuer!r}",
    "iat": "the token is issued in the future",
    "azp": "the token's authorized party is not {0.client_id!r}",
    "nonce": "the token's nonce does not match this login",
}


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


class _Session:
    """The HTTP session Authlib's client posts through: httpx with our timeout. Authlib hands over the form and
    its client authentication (``ClientAuth.prepare``), which signs the encoded request before it is sent."""

    def post(self, url: str, data: dict | None = None, headers: dict | None = None, auth: Any = None) -> httpx.Response:
        body = urlencode(data or {})
        headers = dict(headers or {})  # Authlib passes its module-wide default headers: never write into them
        if auth is not None:
            url, headers, body = auth.prepare("POST", url, headers, body)
        return httpx.post(url, content=body, headers=headers, timeout=HTTP_TIMEOUT_SECONDS)


def _client_secret_basic(client: Any, method: str, uri: str, headers: dict, body: str) -> tuple[str, dict, str]:
    # RFC 6749 2.3.1: both parts form-encoded before they are joined and base64-encoded (Authlib's own
    # client_secret_basic sends them raw, which breaks secrets with ':' or '%' at providers that decode)
    pair = f"{quote_plus(client.client_id)}:{quote_plus(client.client_secret)}"
    headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    return uri, headers, body


def _client(config: ProviderConfig, document: dict) -> OAuth2Client:
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if not config.client_secret:
        method = "none"  # a public client: PKCE alone
    elif "client_secret_basic" in methods:
        method = "client_secret_basic"
    else:
        method = "client_secret_post"
    client = OAuth2Client(
        _Session(),
        client_id=config.client_id,
        client_secret=config.client_secret,
        token_endpoint_auth_method=method,
        scope=SCOPES,
        code_challenge_method="S256",
    )
    client.register_client_auth_method(("client_secret_basic", _client_secret_basic))
    return client


def authorization_url(config: ProviderConfig, *, redirect_uri: str, state: str, nonce: str, verifier: str) -> str:
    document = discovery(config.issuer)
    endpoint = document.get("authorization_endpoint")
    if not endpoint:
        raise OIDCError("the discovery document names no authorization_endpoint")
    url, _ = _client(config, document).create_authorization_url(
        endpoint, state=state, code_verifier=verifier, nonce=nonce, redirect_uri=redirect_uri
    )
    return str(url)


def exchange_code(config: ProviderConfig, *, code: str, redirect_uri: str, verifier: str) -> str:
    """Trade an authorization code for the ID token at the token endpoint (client secret + PKCE verifier)."""
    document = discovery(config.issuer)
    endpoint = document.get("token_endpoint")
    if not endpoint:
        raise OIDCError("the discovery document names no token_endpoint")
    client = _client(config, document)
    # Authlib takes any JSON object as a token unless it names an error; an HTTP error status must refuse too.
    client.register_compliance_hook("access_token_response", _refuse_http_errors)
    try:
        token = client.fetch_token(
            endpoint, grant_type="authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=verifier
        )
    except OAuth2Error as exc:
        raise OIDCError(f"the token endpoint refused the code: {exc.error}") from None
    except (httpx.HTTPError, ValueError) as exc:
        raise OIDCError(f"the token endpoint failed: {type(exc).__name__}: {exc}") from None
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise OIDCError("the token endpoint returned no id_token")
    return id_token


def _refuse_http_errors(response: httpx.Response) -> httpx.Response:
    if response.status_code != 200:
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error", "") if isinstance(body, dict) else ""
        raise OIDCError(f"the token endpoint refused the code: HTTP {response.status_code} {error}".rstrip())
    return response
