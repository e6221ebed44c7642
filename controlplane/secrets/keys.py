"""Master keys (key-encryption keys) behind the ``KeyProvider`` protocol. Never from the database.

``LocalKeyProvider`` reads ``CONTROLPLANE_MASTER_KEYS`` (``k2:<base64>,k1:<base64>``, the first one is
active) or the file named by ``CONTROLPLANE_MASTER_KEY_FILE`` (one ``id:<base64>`` per line, first is
active, mode 0600 or stricter). With neither on the embedded default (SQLite) it generates
``DATA_DIR/master.keys`` once. Another provider (an external KMS) is chosen by dotted path in the
``CONTROLPLANE_KEY_PROVIDER`` environment variable (setting ``SECRETS_KEY_PROVIDER``); see docs/SECURITY.md.

The provider is built at first use, not at Django start-up, so processes that never touch secrets do
not need keys. Error messages name key ids and files, never key material.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.utils.module_loading import import_string

from controlplane.config import env_str
from controlplane.secrets.domain.errors import SecretsKeyInvalid, SecretsKeyMissing, SecretsKeyUnknown
from controlplane.secrets.envelope import KEY_BYTES

KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
KEYS_ENV = "CONTROLPLANE_MASTER_KEYS"
KEY_FILE_ENV = "CONTROLPLANE_MASTER_KEY_FILE"
GENERATED_FILE = "master.keys"
GENERATED_ID = "k1"


@runtime_checkable
class KeyProvider(Protocol):
    def active_key_id(self) -> str:
        """The id of the master key that wraps new data keys (and that rotation re-wraps to)."""
        ...

    def key(self, key_id: str) -> bytes:
        """The 32 bytes of master key ``key_id``; raise ``SecretsKeyUnknown`` when there is none."""
        ...

    def key_ids(self) -> list[str]:
        """Every key id this provider can unwrap with, the active one first."""
        ...


def parse_keys(text: str, *, separator: str, source: str) -> list[tuple[str, bytes]]:
    """``id:base64`` entries -> [(id, key)], in order. ``source`` names where they came from in errors."""
    entries: list[tuple[str, bytes]] = []
    chunks = text.split(separator)
    for number, chunk in enumerate(chunks, start=1):
        entry = chunk.strip()
        if not entry or entry.startswith("#"):
            continue
        where = f"{source} entry {number}" if separator == "," else f"{source} line {number}"
        key_id, colon, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not colon or not KEY_ID.match(key_id):
            raise SecretsKeyInvalid(
                f"{where} is not 'id:base64key' with an id of 1..64 characters A-Z a-z 0-9 _ . -", source=source
            )
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise SecretsKeyInvalid(f"{where} (key id {key_id!r}) is not valid base64", source=source) from None
        if len(key) != KEY_BYTES:
            raise SecretsKeyInvalid(
                f"{where} (key id {key_id!r}) is {len(key)} bytes; master keys are {KEY_BYTES} bytes "
                f"(generate one with: openssl rand -base64 {KEY_BYTES})",
                source=source,
            )
        if any(existing == key_id for existing, _ in entries):
            raise SecretsKeyInvalid(f"{where}: key id {key_id!r} appears twice", source=source)
        entries.append((key_id, key))
    if not entries:
        raise SecretsKeyInvalid(f"{source} holds no key", source=source)
    return entries


def read_key_file(path: Path) -> list[tuple[str, bytes]]:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SecretsKeyMissing(f"master key file {path} does not exist", path=str(path)) from None
    if not stat.S_ISREG(info.st_mode):
        raise SecretsKeyInvalid(f"master key file {path} is not a regular file", path=str(path))
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise SecretsKeyInvalid(
            f"master key file {path} has mode {mode:04o}; it must be 0600 or stricter (chmod 600 {path})",
            path=str(path),
        )
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not ASCII text"
        raise SecretsKeyInvalid(f"master key file {path} cannot be read: {reason}", path=str(path)) from None
    return parse_keys(text, separator="\n", source=str(path))


def generate_key_file(path: Path) -> None:
    """Write a fresh key under id ``k1`` with mode 0600, unless the file exists (several processes may race)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write("# Master keys of the secrets store: id:base64, the first one is active. Back this file up.\n")
        handle.write(f"{GENERATED_ID}:{base64.b64encode(os.urandom(KEY_BYTES)).decode('ascii')}\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


class LocalKeyProvider:
    """Master keys from the environment or a 0600 file; with ``keys`` given, exactly those (tests, tools)."""

    def __init__(self, keys: list[tuple[str, bytes]] | None = None) -> None:
        entries = self._from_environment() if keys is None else list(keys)
        if not entries:
            raise SecretsKeyMissing("no master key given")
        for key_id, key in entries:
            if not KEY_ID.match(key_id) or len(key) != KEY_BYTES:
                raise SecretsKeyInvalid(f"master key {key_id!r} needs an id like 'k1' and {KEY_BYTES} bytes")
        if len({key_id for key_id, _ in entries}) != len(entries):
            raise SecretsKeyInvalid("a master key id appears twice")
        self._order = [key_id for key_id, _ in entries]
        self._keys = {key_id: bytes(key) for key_id, key in entries}

    @staticmethod
    def _from_environment() -> list[tuple[str, bytes]]:
        listed = env_str(KEYS_ENV)
        file_name = env_str(KEY_FILE_ENV)
        if listed is not None and file_name is not None:
            raise SecretsKeyInvalid(f"set {KEYS_ENV} or {KEY_FILE_ENV}, not both")
        if listed is not None:
            return parse_keys(listed, separator=",", source=KEYS_ENV)
        if file_name is not None:
            return read_key_file(Path(file_name))
        if getattr(settings, "DATABASE_VENDOR", None) != "sqlite":
            raise SecretsKeyMissing(
                f"no master key: set {KEYS_ENV} (k1:<base64 of 32 bytes>) or {KEY_FILE_ENV} on every web "
                "process and worker; keys are generated only for the embedded SQLite default"
            )
        path = Path(settings.DATA_DIR) / GENERATED_FILE
        if not path.exists():
            generate_key_file(path)
        return read_key_file(path)

    def active_key_id(self) -> str:
        return self._order[0]

    def key(self, key_id: str) -> bytes:
        try:
            return self._keys[key_id]
        except KeyError:
            raise SecretsKeyUnknown(
                f"master key {key_id!r} is not configured (configured: {', '.join(self._order)})", key_id=key_id
            ) from None

    def key_ids(self) -> list[str]:
        return list(self._order)

    def __repr__(self) -> str:  # never the keys
        return f"LocalKeyProvider(key_ids={self._order!r})"


_lock = threading.Lock()
_provider: KeyProvider | None = None
_override: KeyProvider | None = None


def _build() -> KeyProvider:
    path = getattr(settings, "SECRETS_KEY_PROVIDER", None) or "controlplane.secrets.keys.LocalKeyProvider"
    try:
        cls = import_string(path)
    except ImportError:
        raise SecretsKeyInvalid(
            f"key provider {path!r} (CONTROLPLANE_KEY_PROVIDER) cannot be imported", provider=path
        ) from None
    if not isinstance(cls, type):
        raise SecretsKeyInvalid(f"key provider {path!r} (CONTROLPLANE_KEY_PROVIDER) is not a class", provider=path)
    provider = cls()
    if not isinstance(provider, KeyProvider):
        raise SecretsKeyInvalid(f"key provider {path!r} lacks active_key_id(), key() or key_ids()", provider=path)
    return provider


def get_provider() -> KeyProvider:
    """The process's key provider, built on first use (errors repeat on every use until fixed)."""
    global _provider
    if _override is not None:
        return _override
    if _provider is None:
        with _lock:
            if _provider is None:
                _provider = _build()
    return _provider


def reset_provider() -> None:
    """Forget the built provider, so the next use reads the configuration again."""
    global _provider
    with _lock:
        _provider = None


@contextmanager
def using_provider(provider: KeyProvider | None) -> Iterator[KeyProvider | None]:
    """Use ``provider`` instead of the configured one (tests, tools) until the block ends; None: the
    configured one."""
    global _override
    previous, _override = _override, provider
    try:
        yield provider
    finally:
        _override = previous
