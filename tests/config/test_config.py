"""CONTROLPLANE_* parsing: good values parse right; every malformed one fails with one line naming it."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from controlplane import config
from controlplane.config import ConfigError, parse_database_url

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "controlplane" / "settings.py"
GOOD_KEY = "k" * 20 + "ey-for-tests-0123456789-abcdefghijklmnopqrstuvwxyz"


def variables_read_by_the_code() -> set[str]:
    text = SETTINGS.read_text() + (ROOT / "controlplane" / "config.py").read_text()
    return set(re.findall(r'"(CONTROLPLANE_[A-Z_]+)"', text))


# --- database URLs ----------------------------------------------------------------------------------


def test_sqlite_relative_path_lives_in_the_data_directory(tmp_path):
    db = parse_database_url("sqlite:///controlplane.sqlite3", tmp_path)
    assert db.vendor == "sqlite"
    assert db.settings["ENGINE"] == "django.db.backends.sqlite3"
    assert db.settings["NAME"] == str(tmp_path / "controlplane.sqlite3")
    assert db.settings["TEST"]["NAME"] == str(tmp_path / "controlplane-test.sqlite3")
    assert db.settings["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_sqlite_absolute_path(tmp_path):
    db = parse_database_url("sqlite:////srv/cp/db.sqlite3", tmp_path)
    assert db.settings["NAME"] == "/srv/cp/db.sqlite3"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres(tmp_path, scheme):
    db = parse_database_url(f"{scheme}://cp:p%40ss@db.example.com:6543/control?sslmode=require", tmp_path)
    assert db.vendor == "postgresql"
    s = db.settings
    assert s["ENGINE"] == "django.db.backends.postgresql"
    assert (s["NAME"], s["USER"], s["PASSWORD"], s["HOST"], s["PORT"]) == (
        "control",
        "cp",
        "p@ss",
        "db.example.com",
        "6543",
    )
    assert s["OPTIONS"] == {"sslmode": "require", "prepare_threshold": 5}


@pytest.mark.parametrize(("given", "expected"), [("none", None), ("0", 0), ("12", 12)])
def test_postgres_prepare_threshold(tmp_path, given, expected):
    s = parse_database_url(f"postgres://db/control?prepare_threshold={given}", tmp_path).settings
    assert s["OPTIONS"]["prepare_threshold"] == expected


def test_postgres_prepare_threshold_must_be_a_number(tmp_path):
    with pytest.raises(ConfigError, match="prepare_threshold='soon'"):
        parse_database_url("postgres://db/control?prepare_threshold=soon", tmp_path)


def test_postgres_without_port_or_credentials(tmp_path):
    s = parse_database_url("postgres://db/control", tmp_path).settings
    assert (s["USER"], s["PASSWORD"], s["HOST"], s["PORT"]) == ("", "", "db", "")


@pytest.mark.parametrize("scheme", ["mysql", "mariadb"])
def test_mysql_and_mariadb(tmp_path, scheme):
    db = parse_database_url(f"{scheme}://root:secret@127.0.0.1:3306/cp?connect_timeout=5", tmp_path)
    assert db.vendor == "mysql"
    s = db.settings
    assert s["ENGINE"] == "django.db.backends.mysql"
    assert (s["NAME"], s["USER"], s["PASSWORD"], s["HOST"], s["PORT"]) == ("cp", "root", "secret", "127.0.0.1", "3306")
    assert s["OPTIONS"]["charset"] == "utf8mb4"
    assert s["OPTIONS"]["isolation_level"] == "read committed"
    # an integer, as mysqlclient needs it (a string "5" made MySQLdb.connect raise TypeError)
    assert s["OPTIONS"]["connect_timeout"] == 5
    assert s["TEST"]["CHARSET"] == "utf8mb4"


def test_oracle_names_host_port_and_service(tmp_path):
    db = parse_database_url("oracle://cp:pw@ora.example.com:1522/FREEPDB1", tmp_path)
    assert db.vendor == "oracle"
    s = db.settings
    assert s["ENGINE"] == "django.db.backends.oracle"
    assert (s["NAME"], s["HOST"], s["PORT"], s["USER"]) == ("ora.example.com:1522/FREEPDB1", "", "", "cp")
    assert parse_database_url("oracle://cp:pw@ora/XE", tmp_path).settings["NAME"] == "ora:1521/XE"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://x", "scheme 'ftp'"),
        ("sqlite://", "names no SQLite file"),
        ("sqlite:///", "names no SQLite file"),
        ("sqlite://:memory:", "names no SQLite file"),  # one database per process: never what is meant
        ("postgres://db.example.com", "names no database"),
        ("postgres:///control", "names no host"),
        ("mysql://root:pw@db:port/cp", "malformed port"),
    ],
)
def test_malformed_database_urls(tmp_path, url, words):
    with pytest.raises(ConfigError) as info:
        parse_database_url(url, tmp_path)
    assert "CONTROLPLANE_DATABASE_URL" in str(info.value)
    assert words in str(info.value)


def test_database_password_is_not_echoed(tmp_path):
    with pytest.raises(ConfigError) as info:
        parse_database_url("postgres://cp:hunter2@db.example.com", tmp_path)
    assert "hunter2" not in str(info.value)


# --- every variable, through the real settings module ------------------------------------------------

MALFORMED = [
    ("CONTROLPLANE_DATA_DIR", "{file}/sub"),
    ("CONTROLPLANE_DATABASE_URL", "ftp://x"),
    ("CONTROLPLANE_DATABASE_URL", "postgres://db:99999999/cp"),
    ("CONTROLPLANE_SECRET_KEY", "too-short"),
    ("CONTROLPLANE_SECRET_KEY", "a" * 60),
    ("CONTROLPLANE_DEBUG", "maybe"),
    ("CONTROLPLANE_ALLOWED_HOSTS", "https://cp.example.com"),
    ("CONTROLPLANE_ALLOWED_HOSTS", " , "),
    ("CONTROLPLANE_CSRF_TRUSTED_ORIGINS", "cp.example.com"),
    ("CONTROLPLANE_CSRF_TRUSTED_ORIGINS", "https://cp.example.com/admin/"),
    ("CONTROLPLANE_TLS", "sure"),
    ("CONTROLPLANE_SSL_REDIRECT", "nah"),
    ("CONTROLPLANE_HSTS_SECONDS", "a year"),
    ("CONTROLPLANE_HSTS_SECONDS", "-1"),
    ("CONTROLPLANE_SERVE_STATIC", "perhaps"),
    ("CONTROLPLANE_REDIS_URL", "http://127.0.0.1:6379/0"),
    ("CONTROLPLANE_REDIS_URL", "redis://127.0.0.1:port/0"),
    ("CONTROLPLANE_REDIS_URL", "redis://127.0.0.1:6379/zero"),
    ("CONTROLPLANE_SUBSCRIPTION_INTERVAL_SECONDS", "0"),
    ("CONTROLPLANE_SUBSCRIPTION_INTERVAL_SECONDS", "5s"),
    ("CONTROLPLANE_ALERT_EVAL_INTERVAL_SECONDS", "0"),
    ("CONTROLPLANE_ALERT_EVAL_INTERVAL_SECONDS", "3601"),
    ("CONTROLPLANE_ALERT_LOG_REFRESH_SECONDS", "-1"),
    ("CONTROLPLANE_ALERT_LOG_REFRESH_SECONDS", "soon"),
    ("CONTROLPLANE_RUN_SYNC_INTERVAL_SECONDS", "0"),
    ("CONTROLPLANE_RUN_SYNC_INTERVAL_SECONDS", "fast"),
    ("CONTROLPLANE_SCHEDULE_TICK_SECONDS", "0"),
    ("CONTROLPLANE_SCHEDULE_TICK_SECONDS", "61"),
    ("CONTROLPLANE_HEALTH_INTERVAL_SECONDS", "0"),
    ("CONTROLPLANE_HEALTH_INTERVAL_SECONDS", "15s"),
    ("CONTROLPLANE_LIVE_POLL_MILLISECONDS", "5"),
    ("CONTROLPLANE_LIVE_POLL_MILLISECONDS", "150ms"),
    ("CONTROLPLANE_AGENT_HEARTBEAT_SECONDS", "0"),
    ("CONTROLPLANE_AGENT_HEARTBEAT_SECONDS", "10s"),
    ("CONTROLPLANE_OPERATION_LEASE_SECONDS", "1"),
    ("CONTROLPLANE_OPERATION_LEASE_SECONDS", "a minute"),
    ("CONTROLPLANE_OPERATION_RECOVER_INTERVAL_SECONDS", "0"),
    ("CONTROLPLANE_DIAGNOSTIC_RETENTION_DAYS", "0"),
    ("CONTROLPLANE_DIAGNOSTIC_EXPIRY_INTERVAL_SECONDS", "a day"),
    ("CONTROLPLANE_OPERATION_RETRY_BASE_SECONDS", "-1"),
    ("CONTROLPLANE_OPERATION_POLL_MILLISECONDS", "10"),
    ("CONTROLPLANE_LOG_LEVEL", "LOUD"),
    ("CONTROLPLANE_OUTBOUND_DENY_CIDRS", "10.0.0.0/33"),
    ("CONTROLPLANE_OUTBOUND_ALLOW_CIDRS", "clusters.example.com"),
    ("CONTROLPLANE_RATE_LIMIT_TOKEN", "3000"),
    ("CONTROLPLANE_RATE_LIMIT_ADDRESS", "0/minute"),
    ("CONTROLPLANE_RATE_LIMIT_ENROLMENT", "60/fortnight"),
    ("CONTROLPLANE_LOGIN_MAX_FAILURES", "0"),
    ("CONTROLPLANE_LOGIN_LOCKOUT_SECONDS", "15m"),
    ("CONTROLPLANE_LOGIN_NAME_FAILURES", "0"),
    ("CONTROLPLANE_INVITATION_HOURS", "721"),
    ("CONTROLPLANE_JWT_ACCESS_MINUTES", "0"),
    ("CONTROLPLANE_JWT_REFRESH_DAYS", "a week"),
    ("CONTROLPLANE_MAX_REQUEST_BYTES", "1000"),
    ("CONTROLPLANE_MAX_REQUEST_BYTES", "2MB"),
    ("CONTROLPLANE_MAX_JSON_DEPTH", "201"),
    ("CONTROLPLANE_MAX_JSON_DEPTH", "3"),
    ("CONTROLPLANE_KEY_PROVIDER", "not a class path"),
    ("CONTROLPLANE_LDAP_URL", "http://ldap.example.com"),
    ("CONTROLPLANE_LDAP_BIND_DN", "reader"),
    ("CONTROLPLANE_LDAP_BIND_PASSWORD", "a-password-without-a-dn"),
    ("CONTROLPLANE_LDAP_USER_SEARCH_BASE", "people"),
    ("CONTROLPLANE_LDAP_USER_FILTER", "(uid=admin)"),
    ("CONTROLPLANE_LDAP_USERNAME_ATTRIBUTE", "user name"),
    ("CONTROLPLANE_LDAP_START_TLS", "maybe"),
    ("CONTROLPLANE_LDAP_CA_FILE", "{file}/ca.pem"),
    ("CONTROLPLANE_LDAP_TIMEOUT", "0"),
    ("CONTROLPLANE_OIDC_ISSUER", "http://idp.example.com"),
    ("CONTROLPLANE_OIDC_CLIENT_ID", "cp-without-an-issuer"),
    ("CONTROLPLANE_OIDC_CLIENT_SECRET", "secret-without-an-issuer"),
    ("CONTROLPLANE_OIDC_USERNAME_CLAIM", "preferred username"),
    ("CONTROLPLANE_METRICS_TOKEN", "short"),
    ("CONTROLPLANE_METRICS_TOKEN", "sixteen or more but with spaces"),
    ("CONTROLPLANE_WORKER_METRICS_PORT", "65536"),
    ("CONTROLPLANE_WORKER_METRICS_PORT", "http"),
    ("CONTROLPLANE_NOTIFY_MAX_ATTEMPTS", "0"),
    ("CONTROLPLANE_NOTIFY_BACKOFF_SECONDS", "-1"),
    ("CONTROLPLANE_NOTIFY_TIMEOUT_SECONDS", "0"),
    ("CONTROLPLANE_NOTIFY_REQUEUE_INTERVAL_SECONDS", "often"),
    ("CONTROLPLANE_NOTIFY_RETENTION_DAYS", "3651"),
    ("CONTROLPLANE_EMAIL_HOST", "smtp://mail.example.com:25"),
    ("CONTROLPLANE_EMAIL_PORT", "70000"),
    ("CONTROLPLANE_EMAIL_USER", "user-without-a-password"),
    ("CONTROLPLANE_EMAIL_PASSWORD", "password-without-a-user"),
    ("CONTROLPLANE_EMAIL_STARTTLS", "maybe"),
    ("CONTROLPLANE_EMAIL_SSL", "maybe"),
    ("CONTROLPLANE_EMAIL_FROM", "alerts"),
]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """Only what a test sets: no CONTROLPLANE_* from the caller (the matrix sets several)."""
    for name in list(os.environ):
        if name.startswith("CONTROLPLANE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CONTROLPLANE_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


def load_settings() -> dict:
    return runpy.run_path(str(SETTINGS))


def test_the_defaults_load(clean_env, tmp_path):
    s = load_settings()
    assert s["DEBUG"] is False
    assert s["DATABASE_VENDOR"] == "sqlite"
    assert s["CELERY_BROKER_URL"].startswith("filesystem://")
    assert s["CELERY_BROKER_TRANSPORT"] == "controlplane.filesystem_broker:Transport"
    assert sorted(p.name for p in (tmp_path / "data" / "broker").iterdir()) == [
        "control",
        "dead",
        "processed",
        "queue",
        "tmp",
    ]
    assert s["SERVE_STATIC"] is True
    assert s["SECURE_SSL_REDIRECT"] is False
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o777 == 0o600


def test_production_values_load(clean_env):
    clean_env.setenv("CONTROLPLANE_DATABASE_URL", "postgres://cp:pw@db:5432/cp")
    clean_env.setenv("CONTROLPLANE_REDIS_URL", "redis://redis:6379/0")
    clean_env.setenv("CONTROLPLANE_SECRET_KEY", GOOD_KEY)
    clean_env.setenv("CONTROLPLANE_TLS", "true")
    clean_env.setenv("CONTROLPLANE_ALLOWED_HOSTS", "cp.example.com, .internal")
    clean_env.setenv("CONTROLPLANE_CSRF_TRUSTED_ORIGINS", "https://cp.example.com")
    clean_env.setenv("CONTROLPLANE_LOG_LEVEL", "warning")
    s = load_settings()
    assert s["DATABASE_VENDOR"] == "postgresql"
    assert s["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert s["ALLOWED_HOSTS"] == ["cp.example.com", ".internal"]
    assert s["CSRF_TRUSTED_ORIGINS"] == ["https://cp.example.com"]
    assert s["SECURE_SSL_REDIRECT"] is True and s["SECURE_HSTS_SECONDS"] == 31536000
    assert s["LOG_LEVEL"] == "WARNING"


@pytest.mark.parametrize(("name", "value"), MALFORMED, ids=[f"{n}={v}" for n, v in MALFORMED])
def test_malformed_variable_is_one_line_naming_it(clean_env, tmp_path, name, value):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    clean_env.setenv(name, value.format(file=blocker))
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert name in message
    assert "\n" not in message


def test_secret_key_is_required_off_sqlite(clean_env):
    clean_env.setenv("CONTROLPLANE_DATABASE_URL", "postgres://cp:pw@db:5432/cp")
    with pytest.raises(ConfigError, match="CONTROLPLANE_SECRET_KEY is required"):
        load_settings()


def test_every_variable_has_a_malformed_case_and_a_doc():
    read = variables_read_by_the_code()
    assert len(read) >= 12, read
    assert read - {name for name, _ in MALFORMED} == set()
    documented = set(re.findall(r"CONTROLPLANE_[A-Z_]+", (ROOT / "docs" / "CONFIGURATION.md").read_text()))
    assert read - documented == set(), "document these in docs/CONFIGURATION.md"


@pytest.mark.parametrize(("raw", "expected"), [("1", True), (" YES ", True), ("off", False), ("", False)])
def test_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("CONTROLPLANE_X", raw)
    assert config.env_bool("CONTROLPLANE_X") is expected


# --- the command line: one clear line, exit 2 --------------------------------------------------------


def manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONTROLPLANE_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_manage_py_reports_a_malformed_variable_in_one_line(tmp_path):
    result = manage(["check"], {"CONTROLPLANE_DATA_DIR": str(tmp_path), "CONTROLPLANE_DATABASE_URL": "ftp://x"})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: CONTROLPLANE_DATABASE_URL")
    assert "Traceback" not in result.stderr


def test_deploy_check_passes_with_production_settings(tmp_path):
    env = {
        "CONTROLPLANE_DATA_DIR": str(tmp_path),
        "CONTROLPLANE_SECRET_KEY": GOOD_KEY,
        "CONTROLPLANE_TLS": "true",
        "CONTROLPLANE_ALLOWED_HOSTS": "cp.example.com",
        "CONTROLPLANE_CSRF_TRUSTED_ORIGINS": "https://cp.example.com",
    }
    result = manage(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
