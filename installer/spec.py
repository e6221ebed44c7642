"""What to install: the version, where from, where to, in which role and form, with which members and ports.

`InstallSpec` is frozen and JSON-serialisable (the journal stores it, so `--resume` runs the same install).
`Layout` names every path under the prefix (docs/INSTALLER.md, "Layout").
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from installer import errors, versions
from installer.errors import InstallerError

ROLES = ("hybrid", "master", "worker")
FORMS = ("process", "systemd", "compose", "k8s")
CLUSTER_FORMS = ("compose", "k8s")  # forms that describe a whole cluster, not this node (docs/INSTALLER.md, "Forms")
ARCHIVE_BASE = "https://archive.apache.org/dist/seatunnel"
INCUBATOR_BASE = "https://archive.apache.org/dist/incubator/seatunnel"
KEYS_URL = "https://downloads.apache.org/seatunnel/KEYS"
DEFAULT_MEMBER_PORT = 5801
WORKER_MEMBER_PORT = 5802
DEFAULT_HTTP_PORT = 8080
DEFAULT_HTTPS_PORT = 8443

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


@dataclass(frozen=True)
class Member:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_members(
    text: str | list[str] | tuple[str, ...], default_port: int = DEFAULT_MEMBER_PORT
) -> tuple[Member, ...]:
    """`host:port,host2,[::1]:5802` -> members; a bad entry is an INSTALLER_BAD_MEMBERS naming it."""
    items = text.split(",") if isinstance(text, str) else list(text)
    members: list[Member] = []
    for raw in items:
        item = raw.strip()
        if not item:
            if isinstance(text, str) and text.strip() == "":
                continue
            raise _bad_member(raw, "an empty entry (two commas in a row, or a trailing comma)")
        host, port = _split_host_port(item, default_port)
        member = Member(host, port)
        if member in members:
            raise _bad_member(item, "listed twice")
        members.append(member)
    return tuple(members)


def _split_host_port(item: str, default_port: int) -> tuple[str, int]:
    if item.startswith("["):
        host, sep, rest = item[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise _bad_member(item, "an IPv6 address must be written [addr]:port")
        port_text = rest[1:] if rest else ""
    elif item.count(":") > 1:
        raise _bad_member(item, "an IPv6 address must be written [addr]:port")
    else:
        host, _, port_text = item.partition(":")
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise _bad_member(item, f"the port {port_text!r} is not a number from 1 to 65535")
        port = int(port_text)
    elif ":" in item and not item.startswith("["):
        raise _bad_member(item, "the port after ':' is missing")
    else:
        port = default_port
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOSTNAME.match(host) or host.replace(".", "").isdigit():
            raise _bad_member(item, f"{host!r} is neither a host name nor an IP address") from None
    return host, port


def _bad_member(item: str, why: str) -> InstallerError:
    return InstallerError(
        errors.BAD_MEMBERS,
        f"The member list entry {item!r} is not usable: {why}.",
        "Give --members as host:port pairs separated by commas, e.g. 10.0.0.1:5801,10.0.0.2:5801,10.0.0.3:5802.",
        entry=item,
    )


@dataclass(frozen=True)
class InstallSpec:
    version: str
    prefix: Path
    # Where the distribution comes from: None = the Apache archive (or `mirror`); an http(s) URL of the
    # tarball; or a local file path (air-gapped sites).
    source: str | None = None
    mirror: str | None = None  # a base URL laid out like the archive: <mirror>/<ver>/apache-seatunnel-<ver>-bin.tar.gz
    sha512: str | None = None  # the expected digest, when no .sha512 file sits beside the source
    keys: str | None = None  # the project's KEYS file (path or URL) for the .asc check; default KEYS_URL
    role: str = "hybrid"
    form: str = "process"
    unit_dir: str = "/etc/systemd/system"  # systemd form: where the unit files go
    # compose and k8s forms, which describe a whole cluster: masters and workers, the image, the namespace
    masters: int = 2
    workers: int = 2
    image: str | None = None  # default apache/seatunnel:<version>
    namespace: str = "seatunnel"
    members: tuple[Member, ...] = ()
    cluster_name: str = "seatunnel"
    member_port: int | None = None  # Hazelcast member port; default 5801 (5802 for a worker)
    http_port: int = DEFAULT_HTTP_PORT
    https_port: int | None = None  # set (with key_store) to turn HTTPS on for REST v2
    key_store: str | None = None
    key_store_password: str | None = None
    basic_auth: tuple[str, str] | None = None
    checkpoint_dir: str | None = None  # default <prefix>/data/checkpoint/ (shared storage when >1 node)
    telemetry: bool = True
    heap: str | None = None  # e.g. "2g": -Xms/-Xmx in the role's jvm options file
    user: str | None = None
    java_home: str | None = None
    connectors: tuple[str, ...] | None = None  # None: the lines of config/plugin_config that are not bundled
    connectors_dir: str | None = None  # local connector-*.jar files (air-gapped)
    health_host: str = "127.0.0.1"
    health_timeout: float = 90.0
    expected_members: int = 1  # this node at least; a cluster operation asks for more
    min_free_disk: int = 1 << 30  # bytes free under the prefix before a fetch

    def __post_init__(self) -> None:
        versions.parse(self.version)
        if self.role not in ROLES:
            raise InstallerError(errors.BAD_SPEC, f"Unknown role {self.role!r}.", f"Use one of {', '.join(ROLES)}.")
        if self.form not in FORMS:
            raise InstallerError(errors.BAD_SPEC, f"Unknown form {self.form!r}.", f"Use one of {', '.join(FORMS)}.")
        if self.role in ("master", "worker") and not self.members:
            raise InstallerError(
                errors.BAD_MEMBERS,
                f"A {self.role} node needs the cluster's member list (separated mode joins by TCP-IP).",
                "Pass --members with every master and worker as host:port (ZETA_FACTS §5).",
            )
        for name in ("http_port", "member_port", "https_port"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= 65535:
                raise InstallerError(errors.BAD_SPEC, f"{name} {value} is not a port number.", "Use 1 to 65535.")
        if self.https_port is not None and not self.key_store:
            raise InstallerError(
                errors.BAD_SPEC, "HTTPS needs a key store.", "Pass the key store path and password with the port."
            )
        if not Path(self.unit_dir).is_absolute():
            raise InstallerError(errors.BAD_SPEC, f"unit_dir {self.unit_dir!r} is not absolute.", "Give a full path.")
        if not self.prefix.is_absolute():
            object.__setattr__(self, "prefix", self.prefix.resolve())

    # -- derived values -----------------------------------------------------------------------------

    @property
    def hazelcast_port(self) -> int:
        if self.member_port is not None:
            return self.member_port
        return WORKER_MEMBER_PORT if self.role == "worker" else DEFAULT_MEMBER_PORT

    @property
    def ports(self) -> tuple[int, ...]:
        ports = [self.hazelcast_port, self.http_port]
        if self.https_port is not None:
            ports.append(self.https_port)
        return tuple(ports)

    @property
    def tarball_name(self) -> str:
        if versions.parse(self.version) <= (2, 3, 1):
            return f"apache-seatunnel-incubating-{self.version}-bin.tar.gz"
        return f"apache-seatunnel-{self.version}-bin.tar.gz"

    @property
    def top_dir(self) -> str:
        return self.tarball_name.removesuffix("-bin.tar.gz")

    def source_kind(self) -> str:
        if self.source is None:
            return "mirror" if self.mirror else "archive"
        return "url" if self.source.startswith(("http://", "https://")) else "file"

    def tarball_url(self) -> str | None:
        """The URL the tarball is fetched from (None for a local file). The archive pattern is the real one
        (ZETA_FACTS §4.1); 2.3.1 and older lived under incubator/."""
        kind = self.source_kind()
        if kind == "url":
            return self.source
        if kind == "file":
            return None
        if self.mirror:
            base = self.mirror.rstrip("/")
        else:
            base = INCUBATOR_BASE if versions.parse(self.version) <= (2, 3, 1) else ARCHIVE_BASE
        return f"{base}/{self.version}/{self.tarball_name}"

    def local_file(self) -> Path | None:
        if self.source_kind() != "file":
            return None
        assert self.source is not None
        return Path(self.source.removeprefix("file://")).expanduser().resolve()

    def is_secret(self, key: str) -> bool:
        return key in ("basic_auth", "key_store_password")

    # -- JSON -------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["prefix"] = str(self.prefix)
        data["members"] = [str(m) for m in self.members]
        data["basic_auth"] = list(self.basic_auth) if self.basic_auth else None
        data["connectors"] = list(self.connectors) if self.connectors is not None else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InstallSpec:
        values = dict(data)
        values["prefix"] = Path(values["prefix"])
        values["members"] = parse_members(values.get("members") or [])
        if values.get("basic_auth"):
            values["basic_auth"] = tuple(values["basic_auth"])
        if values.get("connectors") is not None:
            values["connectors"] = tuple(values["connectors"])
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def redacted(self) -> dict[str, Any]:
        data = self.to_json()
        if data.get("basic_auth"):
            data["basic_auth"] = [data["basic_auth"][0], "***"]
        if data.get("key_store_password"):
            data["key_store_password"] = "***"  # noqa: S105 - a mask, not a password
        return data


@dataclass(frozen=True)
class Layout:
    """Every path under the prefix. Versions are side by side; `current` points at one of them."""

    prefix: Path

    @property
    def versions(self) -> Path:
        return self.prefix / "versions"

    def version_dir(self, version: str) -> Path:
        return self.versions / version

    @property
    def current(self) -> Path:
        return self.prefix / "current"

    @property
    def downloads(self) -> Path:
        return self.prefix / "downloads"

    @property
    def logs(self) -> Path:
        return self.prefix / "logs"

    @property
    def data(self) -> Path:
        return self.prefix / "data"

    @property
    def state_dir(self) -> Path:
        return self.prefix / ".installer"

    @property
    def journal(self) -> Path:
        return self.state_dir / "journal.json"

    @property
    def node_state(self) -> Path:
        return self.state_dir / "node.json"

    @property
    def lock(self) -> Path:
        return self.state_dir / "lock"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def service_file(self) -> Path:
        return self.state_dir / "service.json"

    def dist_config(self, version: str) -> Path:
        """The config/ directory as the distribution shipped it, kept to render from (and to diff against)."""
        return self.state_dir / "dist" / version / "config"

    @property
    def backups(self) -> Path:
        return self.state_dir / "backups"

    def current_version(self) -> str | None:
        try:
            target = self.current.readlink()
        except (FileNotFoundError, OSError):
            return None
        return target.name
