"""Reading the CONTROLPLANE_* environment: every value is parsed here, once, with one clear error line.

A missing or malformed value raises ``ConfigError`` naming the variable; ``manage.py`` and the ASGI/Celery
entry points print that line and exit instead of showing a traceback.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class ConfigError(Exception):
    """A CONTROLPLANE_* variable is missing or malformed; the message names it."""


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


def env_int(name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name}={raw!r} must be at most {maximum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name)
    if raw is None:
        return default
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items:
        raise ConfigError(f"{name}={raw!r} names no value")
    return items


def env_hosts(name: str, default: list[str]) -> list[str]:
    """Host names for ALLOWED_HOSTS: names, ``.suffix`` wildcards, addresses or ``*``; no scheme or path."""
    hosts = env_list(name, default)
    for host in hosts:
        if "://" in host or "/" in host or " " in host:
            raise ConfigError(f"{name} entry {host!r} is not a host name (no scheme or path: cp.example.com)")
    return hosts


def env_origins(name: str) -> list[str]:
    """Origins for CSRF_TRUSTED_ORIGINS: ``scheme://host[:port]``, no path."""
    origins = env_list(name, [])
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ConfigError(f"{name} entry {origin!r} is not an origin (https://cp.example.com[:port])")
    return origins


def env_cidrs(name: str) -> list[str]:
    """Networks as CIDRs (``10.0.0.0/8,fd00::/8``; a bare address is one host); empty when unset."""
    cidrs = env_list(name, [])
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigError(f"{name} entry {cidr!r} is not a CIDR (10.0.0.0/8, 127.0.0.1/32, fd00::/8)") from None
    return cidrs


_PERIODS = {"s": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def env_rate(name: str, default: str) -> tuple[int, int]:
    """A request rate ``N/second|minute|hour|day`` as (requests, seconds)."""
    raw = env_str(name) or default
    count, sep, period = raw.replace(" ", "").partition("/")
    if not sep or not count.isdigit() or int(count) < 1 or period.lower() not in _PERIODS:
        raise ConfigError(f"{name}={raw!r} is not a rate (N/second, N/minute, N/hour or N/day, N >= 1)")
    return int(count), _PERIODS[period.lower()]


def data_dir(base_dir: Path) -> Path:
    """The directory for the SQLite file, the on-disk broker, generated keys and benchmark output."""
    raw = env_str("CONTROLPLANE_DATA_DIR")
    path = Path(raw) if raw else base_dir / "var"
    if not path.is_absolute():
        path = (base_dir / path).resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"CONTROLPLANE_DATA_DIR={str(path)!r} cannot be created: {exc.strerror}") from None
    if not os.access(path, os.W_OK):
        raise ConfigError(f"CONTROLPLANE_DATA_DIR={str(path)!r} is not writable")
    return path


@dataclass(frozen=True)
class DatabaseURL:
    vendor: str  # sqlite | postgresql | mysql | oracle
    settings: dict


# The schemes we support, with our vendor name; dj-database-url knows more (and no mariadb://, added below).
_VENDORS = {
    "sqlite": "sqlite",
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "oracle": "oracle",
}
dj_database_url.register("mariadb", "django.db.backends.mysql")(dj_database_url.apply_ssl_ca)


def parse_database_url(url: str, data_directory: Path, name: str = "CONTROLPLANE_DATABASE_URL") -> DatabaseURL:
    """Turn a database URL into Django's DATABASES entry (parsed by dj-database-url, then our defaults).

    sqlite:///relative/or/absolute.sqlite3, postgres://user:pass@host:5432/db?sslmode=require,
    mysql://user:pass@host:3306/db (mariadb:// is the same), oracle://user:pass@host:1521/service.
    Query parameters become driver OPTIONS (digits as integers, true/false as booleans).
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme not in _VENDORS:
        raise ConfigError(f"{name} has scheme {scheme!r}; expected one of {', '.join(sorted(_VENDORS))}")
    vendor = _VENDORS[scheme]
    try:
        entry: dict = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
    except ValueError:  # dj-database-url's ParseError: urlsplit refused the port
        raise ConfigError(f"{name}={_redact(url)!r} has a malformed port") from None
    options = entry.pop("OPTIONS", {})
    if vendor == "sqlite":
        # dj-database-url makes an empty path an in-memory database: every process would have its own.
        if entry["NAME"] in ("", ":memory:"):
            raise ConfigError(f"{name}={url!r} names no SQLite file (sqlite:///path/to/file.sqlite3)")
        # sqlite:////abs/path -> /abs/path; sqlite:///rel/path -> relative to the data directory
        path = Path(entry["NAME"])
        if not path.is_absolute():
            path = data_directory / path
        return DatabaseURL(
            vendor="sqlite",
            settings={
                "ENGINE": entry["ENGINE"],
                "NAME": str(path),
                "OPTIONS": {
                    # One writer at a time takes the write lock at BEGIN, so positions follow commit order
                    # and writers queue on busy_timeout instead of failing on lock upgrade.
                    "transaction_mode": "IMMEDIATE",
                    "timeout": 30,
                    "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"),
                },
                "TEST": {"NAME": str(path.with_name(path.stem + "-test" + path.suffix))},
            },
        )
    if not entry["NAME"]:
        raise ConfigError(f"{name}={_redact(url)!r} names no database (…/dbname)")
    if not entry["HOST"]:
        raise ConfigError(f"{name}={_redact(url)!r} names no host")
    port = entry["PORT"]
    entry.update(PORT=str(port), OPTIONS=options)
    if vendor == "postgresql":
        # The event log's hot statements run through server-binding cursors: let PostgreSQL prepare them
        # after 5 runs (Django's own client-side cursors never prepare). ?prepare_threshold=none turns it
        # off, e.g. behind PgBouncer in transaction mode.
        raw = str(options.get("prepare_threshold", "5")).strip().lower()
        if raw in ("none", "off", ""):
            options["prepare_threshold"] = None
        elif raw.isdigit():
            options["prepare_threshold"] = int(raw)
        else:
            raise ConfigError(f"{name} has prepare_threshold={raw!r}; expected a whole number or none")
    if vendor == "mysql":
        entry["OPTIONS"] = {
            "charset": "utf8mb4",
            "isolation_level": "read committed",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
            **options,
        }
        entry["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_bin"}
    if vendor == "oracle":
        # Django's Oracle backend takes host:port/service as NAME when HOST is empty.
        entry.update(NAME=f"{entry['HOST']}:{port or 1521}/{entry['NAME']}", HOST="", PORT="")
    return DatabaseURL(vendor=vendor, settings=entry)


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def validate_redis_url(url: str, name: str = "CONTROLPLANE_REDIS_URL") -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ConfigError(f"{name}={_redact(url)!r} is not a redis:// or rediss:// URL with a host")
    try:
        parts.port  # noqa: B018  (urlsplit parses the port lazily; this raises on a malformed one)
    except ValueError:
        raise ConfigError(f"{name}={_redact(url)!r} has a malformed port") from None
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise ConfigError(f"{name}={_redact(url)!r} has a database {db!r} that is not a number (…/0)")
    return url


def bearer_token(name: str) -> str | None:
    """A token a client sends as ``Authorization: Bearer <token>`` (the metrics scrape): none, or at least 16
    printable characters without spaces, so that it fits in the header as it is and is not guessable by its length."""
    value = env_str(name)
    if value is None:
        return None
    if len(value) < 16 or any(c.isspace() or not c.isprintable() for c in value):
        raise ConfigError(f"{name} must be at least 16 printable characters without spaces")
    return value


def secret_key(data_directory: Path, database_vendor: str) -> str:
    """CONTROLPLANE_SECRET_KEY, or on the embedded default a key generated once into the data directory."""
    key = env_str("CONTROLPLANE_SECRET_KEY")
    if key is not None:
        if len(key) < 50 or len(set(key)) < 5:
            raise ConfigError("CONTROLPLANE_SECRET_KEY must be at least 50 characters with at least 5 distinct ones")
        return key
    if database_vendor != "sqlite":
        raise ConfigError(
            "CONTROLPLANE_SECRET_KEY is required when CONTROLPLANE_DATABASE_URL is not SQLite "
            "(every web process and worker must share it)"
        )
    path = data_directory / "secret_key"
    if not path.exists():
        # Several processes of `make run` start at once: the first one creates the file, the rest read it.
        tmp = path.with_name(f".secret_key.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
