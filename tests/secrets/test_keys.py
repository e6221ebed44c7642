"""Master key configuration: the environment, key files and their permissions, the embedded default,
a missing key, and a provider chosen by dotted path."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from controlplane.secrets import keys
from controlplane.secrets.actions import do_create_secret, do_reveal_secret
from controlplane.secrets.domain.errors import SecretsError
from controlplane.secrets.keys import KeyProvider, LocalKeyProvider, get_provider
from controlplane.secrets.selectors import secret_exists, secret_list

A = os.urandom(32)
B = os.urandom(32)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


@pytest.fixture
def configured(monkeypatch, settings):
    """No test override and no cached provider: get_provider() reads the configuration."""
    for name in ("CONTROLPLANE_MASTER_KEYS", "CONTROLPLANE_MASTER_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    settings.SECRETS_KEY_PROVIDER = "controlplane.secrets.keys.LocalKeyProvider"
    keys.reset_provider()
    with keys.using_provider(None):
        yield
    keys.reset_provider()


def code_of(call) -> SecretsError:
    with pytest.raises(SecretsError) as info:
        call()
    return info.value


def test_keys_from_the_environment_first_is_active(configured, monkeypatch):
    monkeypatch.setenv("CONTROLPLANE_MASTER_KEYS", f"k2:{b64(B)}, k1:{b64(A)}")
    provider = get_provider()
    assert provider.active_key_id() == "k2"
    assert provider.key_ids() == ["k2", "k1"]
    assert (provider.key("k1"), provider.key("k2")) == (A, B)
    assert code_of(lambda: provider.key("k0")).code == "SECRETS_KEY_UNKNOWN"
    assert b64(A) not in repr(provider)


@pytest.mark.parametrize(
    "value",
    [
        "k1",  # no key
        "k1:not*base64",
        f"k1:{b64(os.urandom(16))}",  # AES-128 is not enough
        f"k1:{b64(A)},k1:{b64(B)}",  # the same id twice
        f"bad id:{b64(A)}",
        ",",
    ],
    # keys are random: name the cases, so every xdist worker collects the same test ids
    ids=["no-key", "not-base64", "aes-128", "same-id-twice", "bad-id", "empty"],
)
def test_malformed_keys_are_refused_without_echoing_them(configured, monkeypatch, value):
    monkeypatch.setenv("CONTROLPLANE_MASTER_KEYS", value)
    error = code_of(get_provider)
    assert error.code == "SECRETS_KEY_INVALID"
    assert "CONTROLPLANE_MASTER_KEYS" in error.message
    assert b64(A) not in str(error) and b64(B) not in str(error)


def test_a_key_file_with_mode_0600(configured, monkeypatch, tmp_path):
    path = tmp_path / "keys"
    path.write_text(f"# rotated 2026-11\nk2:{b64(B)}\n\nk1:{b64(A)}\n")
    path.chmod(0o600)
    monkeypatch.setenv("CONTROLPLANE_MASTER_KEY_FILE", str(path))
    assert get_provider().key_ids() == ["k2", "k1"]
    path.chmod(0o400)
    keys.reset_provider()
    assert get_provider().key("k1") == A


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606])
def test_a_key_file_readable_or_writable_by_others_is_refused(configured, monkeypatch, tmp_path, mode):
    path = tmp_path / "keys"
    path.write_text(f"k1:{b64(A)}\n")
    path.chmod(mode)
    monkeypatch.setenv("CONTROLPLANE_MASTER_KEY_FILE", str(path))
    error = code_of(get_provider)
    assert error.code == "SECRETS_KEY_INVALID"
    assert f"mode {mode:04o}" in error.message and "0600" in error.message and str(path) in error.message


def test_an_owner_only_file_with_the_execute_bit_is_accepted(configured, monkeypatch, tmp_path):
    path = tmp_path / "keys"
    path.write_text(f"k1:{b64(A)}\n")
    path.chmod(0o700)
    monkeypatch.setenv("CONTROLPLANE_MASTER_KEY_FILE", str(path))
    assert get_provider().key("k1") == A


def test_a_missing_key_file_and_both_sources_are_errors(configured, monkeypatch, tmp_path):
    monkeypatch.setenv("CONTROLPLANE_MASTER_KEY_FILE", str(tmp_path / "absent"))
    assert code_of(get_provider).code == "SECRETS_KEY_MISSING"
    keys.reset_provider()
    monkeypatch.setenv("CONTROLPLANE_MASTER_KEYS", f"k1:{b64(A)}")
    assert code_of(get_provider).code == "SECRETS_KEY_INVALID"


def test_the_embedded_default_generates_a_0600_key_file_once(configured, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.DATABASE_VENDOR = "sqlite"
    first = get_provider()
    path = tmp_path / "master.keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.key_ids() == ["k1"] and len(first.key("k1")) == 32
    keys.reset_provider()
    assert get_provider().key("k1") == first.key("k1")  # read again, not regenerated


def test_without_keys_on_a_server_database_secrets_fail_at_first_use(configured, settings, acme):
    settings.DATABASE_VENDOR = "postgresql"
    # Metadata reads need no key: apps that do not decrypt keep working.
    assert not secret_exists(acme.tenant_id, acme.workspace_id, "db-password")
    assert list(secret_list(tenant_id=acme.tenant_id, workspace_id=acme.workspace_id)) == []
    error = code_of(
        lambda: do_create_secret(
            metadata=acme.meta, tenant_id=acme.tenant_id, workspace_id=acme.workspace_id, name="x", value="v"
        )
    )
    assert error.code == "SECRETS_KEY_MISSING"
    assert "CONTROLPLANE_MASTER_KEYS" in error.message


class FixedProvider:
    """What an external KMS adapter looks like from here: three methods."""

    def active_key_id(self) -> str:
        return "kms-1"

    def key(self, key_id: str) -> bytes:
        if key_id != "kms-1":
            raise KeyError(key_id)
        return A

    def key_ids(self) -> list[str]:
        return ["kms-1"]


def test_the_provider_class_is_chosen_by_dotted_path(configured, settings, acme):
    settings.SECRETS_KEY_PROVIDER = "tests.secrets.test_keys.FixedProvider"
    provider = get_provider()
    assert isinstance(provider, FixedProvider) and isinstance(provider, KeyProvider)
    secret_id = do_create_secret(
        metadata=acme.meta, tenant_id=acme.tenant_id, workspace_id=acme.workspace_id, name="x", value="v"
    )
    assert do_reveal_secret(metadata=acme.meta, secret_id=secret_id) == "v"
    with keys.using_provider(LocalKeyProvider([("k9", B)])):
        assert code_of(lambda: do_reveal_secret(metadata=acme.meta, secret_id=secret_id)).code == "SECRETS_KEY_UNKNOWN"


@pytest.mark.parametrize("path", ["no.such.Provider", "tests.secrets.test_keys.b64"])
def test_a_bad_provider_path_is_a_clear_error(configured, settings, path):
    settings.SECRETS_KEY_PROVIDER = path
    error = code_of(get_provider)
    assert error.code == "SECRETS_KEY_INVALID"
    assert path in error.message
