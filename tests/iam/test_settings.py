"""The CONTROLPLANE_LDAP_* and CONTROLPLANE_OIDC_* variables: what they turn on, and one clear line for a
malformed value (the same contract as tests/config/)."""

from __future__ import annotations

import os
import re
import runpy
from pathlib import Path

import pytest

from controlplane.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "controlplane" / "settings.py"
LDAP_OK = {"CONTROLPLANE_LDAP_URL": "ldap://ldap.example.com", "CONTROLPLANE_LDAP_USER_SEARCH_BASE": "dc=example"}
OIDC_OK = {"CONTROLPLANE_OIDC_ISSUER": "https://idp.example.com/realms/ops", "CONTROLPLANE_OIDC_CLIENT_ID": "cp"}


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("CONTROLPLANE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CONTROLPLANE_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


def load(env, values: dict[str, str]) -> dict:
    for name, value in values.items():
        env.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def test_both_are_off_by_default(env):
    s = load(env, {})
    assert s["AUTHENTICATION_BACKENDS"] == [
        "controlplane.iam.backends.ThrottledModelBackend",
        "guardian.backends.ObjectPermissionBackend",
    ]
    assert s["CONTROLPLANE_LDAP_URL"] is None and s["CONTROLPLANE_OIDC_ISSUER"] is None
    assert s["CONTROLPLANE_LDAP_USER_FILTER"] == "(uid={username})"
    assert s["CONTROLPLANE_LDAP_TIMEOUT"] == 5 and s["CONTROLPLANE_LDAP_START_TLS"] is False
    assert s["CONTROLPLANE_OIDC_USERNAME_CLAIM"] == "preferred_username"


def test_ldap_and_oidc_come_right_after_the_password_backend(env):
    s = load(env, {**LDAP_OK, **OIDC_OK})
    assert s["AUTHENTICATION_BACKENDS"] == [
        "controlplane.iam.backends.ThrottledModelBackend",
        "controlplane.iam.ldap.LDAPBackend",
        "controlplane.iam.oidc.OIDCBackend",
        "guardian.backends.ObjectPermissionBackend",
    ]


def test_a_full_ldap_configuration_loads(env, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    s = load(
        env,
        {
            "CONTROLPLANE_LDAP_URL": "ldap://ldap.example.com:389",
            "CONTROLPLANE_LDAP_BIND_DN": "cn=reader,dc=example,dc=org",
            "CONTROLPLANE_LDAP_BIND_PASSWORD": "reader-password",
            "CONTROLPLANE_LDAP_USER_SEARCH_BASE": "ou=people,dc=example,dc=org",
            "CONTROLPLANE_LDAP_USER_FILTER": "(&(objectClass=person)(sAMAccountName={username}))",
            "CONTROLPLANE_LDAP_USERNAME_ATTRIBUTE": "sAMAccountName",
            "CONTROLPLANE_LDAP_START_TLS": "yes",
            "CONTROLPLANE_LDAP_CA_FILE": str(ca),
            "CONTROLPLANE_LDAP_TIMEOUT": "3",
        },
    )
    assert s["CONTROLPLANE_LDAP_START_TLS"] is True and s["CONTROLPLANE_LDAP_TIMEOUT"] == 3
    assert s["CONTROLPLANE_LDAP_USERNAME_ATTRIBUTE"] == "sAMAccountName"


def test_plain_http_issuer_is_only_for_loopback(env):
    assert load(env, {**OIDC_OK, "CONTROLPLANE_OIDC_ISSUER": "http://127.0.0.1:8080"})["CONTROLPLANE_OIDC_ISSUER"]


# (variable, value, other variables set alongside)
MALFORMED = [
    ("CONTROLPLANE_LDAP_URL", "http://ldap.example.com", {}),
    ("CONTROLPLANE_LDAP_URL", "ldap://", {}),
    ("CONTROLPLANE_LDAP_URL", "ldap://ldap.example.com:port", {}),
    ("CONTROLPLANE_LDAP_URL", "ldap://ldap.example.com/dc=example", {}),
    ("CONTROLPLANE_LDAP_BIND_DN", "reader", {}),
    ("CONTROLPLANE_LDAP_BIND_PASSWORD", "a-password-without-a-dn", {}),
    ("CONTROLPLANE_LDAP_BIND_PASSWORD", "", {"CONTROLPLANE_LDAP_BIND_DN": "cn=reader,dc=example"}),
    ("CONTROLPLANE_LDAP_USER_SEARCH_BASE", "people", {}),
    ("CONTROLPLANE_LDAP_USER_SEARCH_BASE", "", {"CONTROLPLANE_LDAP_URL": "ldap://ldap.example.com"}),
    ("CONTROLPLANE_LDAP_USER_FILTER", "uid={username}", {}),
    ("CONTROLPLANE_LDAP_USER_FILTER", "(uid=admin)", {}),
    ("CONTROLPLANE_LDAP_USER_FILTER", "(&(uid={username})", {}),
    ("CONTROLPLANE_LDAP_USER_FILTER", "(uid={username}))(", {}),
    ("CONTROLPLANE_LDAP_USERNAME_ATTRIBUTE", "user name", {}),
    ("CONTROLPLANE_LDAP_START_TLS", "maybe", {}),
    ("CONTROLPLANE_LDAP_START_TLS", "true", {**LDAP_OK, "CONTROLPLANE_LDAP_URL": "ldaps://ldap.example.com"}),
    ("CONTROLPLANE_LDAP_CA_FILE", "/nonexistent/ca.pem", {}),
    ("CONTROLPLANE_LDAP_TIMEOUT", "0", {}),
    ("CONTROLPLANE_LDAP_TIMEOUT", "5s", {}),
    ("CONTROLPLANE_OIDC_ISSUER", "http://idp.example.com", {"CONTROLPLANE_OIDC_CLIENT_ID": "cp"}),
    ("CONTROLPLANE_OIDC_ISSUER", "idp.example.com", {"CONTROLPLANE_OIDC_CLIENT_ID": "cp"}),
    ("CONTROLPLANE_OIDC_ISSUER", "https://idp.example.com/?realm=ops", {"CONTROLPLANE_OIDC_CLIENT_ID": "cp"}),
    ("CONTROLPLANE_OIDC_CLIENT_ID", "", {"CONTROLPLANE_OIDC_ISSUER": "https://idp.example.com"}),
    ("CONTROLPLANE_OIDC_CLIENT_ID", "cp-without-an-issuer", {}),
    ("CONTROLPLANE_OIDC_CLIENT_SECRET", "secret-without-an-issuer", {}),
    ("CONTROLPLANE_OIDC_USERNAME_CLAIM", "preferred username", {}),
]


@pytest.mark.parametrize(("name", "value", "others"), MALFORMED, ids=[f"{n}={v!r}" for n, v, _ in MALFORMED])
def test_malformed_variable_is_one_line_naming_it(env, name, value, others):
    with pytest.raises(ConfigError) as info:
        load(env, {**others, name: value})
    assert name in str(info.value) and "\n" not in str(info.value)


def test_passwords_are_not_echoed(env):
    with pytest.raises(ConfigError) as info:
        load(env, {"CONTROLPLANE_LDAP_BIND_PASSWORD": "hunter2-reader"})
    assert "hunter2" not in str(info.value)


def test_every_variable_is_covered_here_and_documented():
    text = SETTINGS.read_text()
    ours = set(re.findall(r'"(CONTROLPLANE_(?:LDAP|OIDC)_[A-Z_]+)"', text))
    assert len(ours) == 13, ours
    assert ours - {name for name, _, _ in MALFORMED} == set()
    documented = set(re.findall(r"CONTROLPLANE_[A-Z_]+", (ROOT / "docs" / "CONFIGURATION.md").read_text()))
    assert ours - documented == set(), "document these in docs/CONFIGURATION.md"
    guide = (ROOT / "docs" / "AUTHENTICATION.md").read_text()
    assert ours - set(re.findall(r"CONTROLPLANE_[A-Z_]+", guide)) == set(), "and in docs/AUTHENTICATION.md"
