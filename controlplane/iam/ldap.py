"""LDAP login: find the user's entry with a service account, then bind as that entry with the given password.

Enabled by ``CONTROLPLANE_LDAP_URL`` (settings put ``LDAPBackend`` right after ``ThrottledModelBackend``);
every knob is a ``CONTROLPLANE_LDAP_*`` variable, see docs/AUTHENTICATION.md. The directory only says who
someone is: the local user it maps to starts with no role, and roles are granted in the control plane.

Local accounts are never taken over: a user row made by a login through an external identity source carries
a marker in its (unusable) password column, ``!ldap:…`` or ``!oidc:…``. A row with a usable local password,
another source's marker, or an unmarked superuser is refused with a warning in the log.
"""

from __future__ import annotations

import logging
import re
import ssl
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.crypto import get_random_string
from ldap3 import NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from controlplane.iam import throttle
from controlplane.iam.backends import request_address

log = logging.getLogger("controlplane.iam.ldap")

USERNAME_MAX = 150  # Django's User.username


# --- local users for external identities (LDAP here, OIDC in controlplane.iam.oidc) -------------------


def _marker(source: str, subject: str = "") -> str:
    return f"!{source}:{subject}:" if subject else f"!{source}:"


# Django's own unusable passwords are "!" and 40 letters or digits, so a colon marks a source.
_ANY_MARKER = re.compile(r"^![a-z]+:")


class ExternalUserConflict(Exception):
    """The user name belongs to a local account (or another source's); the external login is refused."""


@dataclass(frozen=True)
class ExternalProfile:
    username: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""


def sync_external_user(source: str, profile: ExternalProfile, subject: str = ""):  # type: ignore[no-untyped-def]
    """The local user for an identity vouched for by ``source`` ("ldap", "oidc"): created on first login with
    no role and an unusable password, its e-mail and names refreshed on every later one. ``subject`` (letters
    and digits) ties the user to one identity of the source, so that a renamed one cannot take it over."""
    User = get_user_model()
    marker = _marker(source, subject)
    fields = {
        "email": profile.email[:254],
        "first_name": profile.first_name[:150],
        "last_name": profile.last_name[:150],
    }
    user = User.objects.filter(username=profile.username).first()
    if user is None:
        user = User(username=profile.username, password=marker + get_random_string(40), **fields)
        try:
            with transaction.atomic():
                user.save()
            return user
        except IntegrityError:  # a concurrent first login created it
            user = User.objects.get(username=profile.username)
    if not user.password.startswith(marker):
        if user.has_usable_password():
            raise ExternalUserConflict("a local account with a password has this name")
        if _ANY_MARKER.match(user.password):
            raise ExternalUserConflict("an account from another identity source, or another identity, has this name")
        if user.is_superuser:
            raise ExternalUserConflict("an unlinked platform administrator has this name")
        # A row created without a password (e.g. so that roles could be granted before the first login):
        # the first login through this source claims it.
        user.password = marker + get_random_string(40)
        fields["password"] = user.password
    changed = [name for name, value in fields.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, fields[name])
    if changed:
        user.save(update_fields=changed)
    return user


# --- the directory --------------------------------------------------------------------------------------


def user_filter(template: str, username: str) -> str:
    """The search filter for ``username``, escaped per RFC 4515 so that ``*``, ``(``, ``)``, ``\\`` and NUL
    are matched literally and cannot widen or restructure the filter."""
    return template.replace("{username}", escape_filter_chars(username))


@dataclass(frozen=True)
class DirectoryConfig:
    url: str
    search_base: str
    user_filter: str = "(uid={username})"
    username_attribute: str = "uid"
    bind_dn: str | None = None
    bind_password: str | None = None
    start_tls: bool = False
    ca_file: str | None = None
    timeout: int = 5

    @classmethod
    def from_settings(cls) -> DirectoryConfig | None:
        url = getattr(settings, "CONTROLPLANE_LDAP_URL", None)
        if not url:
            return None
        return cls(
            url=url,
            search_base=settings.CONTROLPLANE_LDAP_USER_SEARCH_BASE,
            user_filter=settings.CONTROLPLANE_LDAP_USER_FILTER,
            username_attribute=settings.CONTROLPLANE_LDAP_USERNAME_ATTRIBUTE,
            bind_dn=settings.CONTROLPLANE_LDAP_BIND_DN,
            bind_password=settings.CONTROLPLANE_LDAP_BIND_PASSWORD,
            start_tls=settings.CONTROLPLANE_LDAP_START_TLS,
            ca_file=settings.CONTROLPLANE_LDAP_CA_FILE,
            timeout=settings.CONTROLPLANE_LDAP_TIMEOUT,
        )

    def server(self) -> Server:
        # Certificates are always verified (ldap3's default is not to); the system trust store is used
        # unless CONTROLPLANE_LDAP_CA_FILE names the CA bundle.
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.ca_file)
        return Server(self.url, tls=tls, get_info=NONE, connect_timeout=self.timeout)

    def connect(self, server: Server, user: str | None, password: str | None) -> Connection:
        """An open, bound connection (StartTLS first when configured). Raises LDAPException or OSError
        when the server cannot be reached; returns an unbound connection when the credentials are refused."""
        conn = Connection(
            server, user=user, password=password, receive_timeout=self.timeout, raise_exceptions=False, read_only=True
        )
        conn.open()
        if self.start_tls and not conn.start_tls():
            conn.unbind()
            raise LDAPException(f"StartTLS refused: {conn.result.get('description', '')}")
        conn.bind()
        return conn


def _first(entry: dict, name: str) -> str:
    value = entry.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "")


class LookupFailed(Exception):
    """The search could not run (service account refused, base missing, ...); the message says why."""


def find_user(config: DirectoryConfig, server: Server, username: str) -> tuple[str, dict] | None:
    """(DN, attributes) of the one entry matching ``username``; None when none or several match."""
    conn = config.connect(server, config.bind_dn, config.bind_password)
    try:
        if not conn.bound:
            who = config.bind_dn or "anonymous"
            raise LookupFailed(f"the search bind as {who} was refused: {conn.result.get('description', '')}")
        attributes = sorted({config.username_attribute, "mail", "givenName", "sn"})
        conn.search(
            config.search_base,
            user_filter(config.user_filter, username),
            search_scope=SUBTREE,
            attributes=attributes,
            size_limit=2,
            time_limit=config.timeout,
        )
        result = conn.result.get("description", "")
        if result not in ("success", "sizeLimitExceeded"):
            raise LookupFailed(f"the search under {config.search_base} failed: {result}")
        entries = [item for item in conn.response or [] if item.get("type") == "searchResEntry"]
    finally:
        conn.unbind()
    if len(entries) > 1:
        log.warning("LDAP: more than one entry matches the user name %r; refusing the login", username)
        return None
    if not entries:
        return None
    return entries[0]["dn"], dict(entries[0]["attributes"])


def password_accepted(config: DirectoryConfig, server: Server, dn: str, password: str) -> bool:
    conn = config.connect(server, dn, password)
    try:
        return bool(conn.bound)
    finally:
        conn.unbind()


class LDAPBackend(BaseBackend):
    """Django authentication backend for ``authenticate(request, username=..., password=...)``."""

    source = "ldap"

    def authenticate(self, request, username=None, password=None, **kwargs):  # type: ignore[no-untyped-def]
        if throttle.retry_after(username or "", request_address(request)) > 0:
            raise PermissionDenied("LOGIN_THROTTLED")
        config = DirectoryConfig.from_settings()
        if config is None or not username or not isinstance(username, str) or not isinstance(password, str):
            return None
        if password == "":  # an empty password makes an unauthenticated bind, which "succeeds"
            return None
        server = config.server()
        try:
            found = find_user(config, server, username)
            if found is None:
                return None
            dn, attributes = found
            if not password_accepted(config, server, dn, password):
                return None
        except LookupFailed as exc:
            log.warning("LDAP login for %r failed: %s (server %s)", username, exc, config.url)
            return None
        except (LDAPException, OSError) as exc:
            log.warning(
                "LDAP login for %r failed: server %s unreachable, not answering or failing TLS: %s: %s",
                username,
                config.url,
                type(exc).__name__,
                exc,
            )
            return None
        local_name = _first(attributes, config.username_attribute)
        if not local_name or len(local_name) > USERNAME_MAX:
            log.warning(
                "LDAP login for %r refused: entry %s has no usable %s attribute",
                username,
                dn,
                config.username_attribute,
            )
            return None
        profile = ExternalProfile(
            username=local_name,
            email=_first(attributes, "mail"),
            first_name=_first(attributes, "givenName"),
            last_name=_first(attributes, "sn"),
        )
        try:
            user = sync_external_user(self.source, profile)
        except ExternalUserConflict as exc:
            log.warning("LDAP login for %r refused: %s (local user %r)", username, exc, local_name)
            return None
        return user if user.is_active else None

    def get_user(self, user_id):  # type: ignore[no-untyped-def]
        user = get_user_model()._default_manager.filter(pk=user_id).first()
        return user if user is not None and user.is_active else None
