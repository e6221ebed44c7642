"""Deployment forms of the installer: systemd units, a compose project and Kubernetes manifests.

Each form is a pure function of one `Deployment` that returns the files it would write (relative path ->
text), so a `plan` can diff them against what is on disk and an install writes exactly what was planned.
Nothing here touches the disk, the network or Django (the import-linter contract `agent-installer`).

The installer core maps its own spec onto `Deployment`; the fields are plain values with defaults that
match the engine's shipped configuration (../shared/seatunnel/ZETA_FACTS.md §4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Deployment", "FormError", "Resources", "Role"]

# A version as the Apache archive names its directories: 2.3.12, 3.0.0, 2.3.1-incubating is not one of ours.
_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:[-.][0-9A-Za-z.]+)?$")
# RFC 1123 label: Kubernetes object names, namespaces and compose service host names.
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# The names useradd accepts (shadow's default NAME_REGEX).
_POSIX_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# A JVM size: -Xmx2g, 512m.
_JVM_SIZE = re.compile(r"^[1-9]\d*[kKmMgG]$")
# A Kubernetes quantity, loosely: 500m, 2, 1.5, 4Gi, 512Mi.
_QUANTITY = re.compile(r"^\d+(?:\.\d+)?(?:m|k|M|G|T|Ki|Mi|Gi|Ti)?$")


class FormError(ValueError):
    """A deployment the forms refuse to render; the message names the field and what to do."""


class Role(StrEnum):
    """A node's role. Hybrid runs master and worker in one JVM (the script without `-r`)."""

    HYBRID = "hybrid"
    MASTER = "master"
    WORKER = "worker"


@dataclass(frozen=True)
class Resources:
    """Kubernetes requests and limits of one container. The memory limit must hold heap plus metaspace."""

    cpu_request: str = "1"
    memory_request: str = "4Gi"
    cpu_limit: str | None = None  # no CPU limit by default: throttling a JVM hurts its GC more than it saves
    memory_limit: str | None = "4Gi"


@dataclass(frozen=True)
class Deployment:
    """What every form needs to know about one SeaTunnel (Zeta) installation.

    The systemd units read `prefix`, `roles`, `user`/`group`, `java_home`, `nofile`, the stop timeout and the
    directories (a bare-metal node's config files are the core's, merged onto the release's shipped files:
    installer/steps/configure.py); compose and Kubernetes read `image`, `masters`/`workers`, `namespace`,
    `name`, the ports, the heap sizes and the resources. The core maps its spec onto this in one place,
    installer/deployment.py.
    """

    version: str
    prefix: str = "/opt/seatunnel"  # the engine lives at <prefix>/current -> versions/<version>
    roles: tuple[Role, ...] = (Role.HYBRID,)  # the roles this host runs (bare metal)
    cluster_name: str = "seatunnel"
    master_port: int = 5801
    worker_port: int = 5802  # a separate port so a master and a worker can share a host
    http_port: int = 8080  # REST v2 (seatunnel.engine.http.port)
    worker_http_port: int | None = None  # set when a worker shares a host with a master (both bind REST)
    user: str = "seatunnel"
    group: str = "seatunnel"
    java_home: str | None = None  # None: `java` from the service's PATH
    heap: str = "2g"  # -Xms = -Xmx of masters and hybrid nodes
    worker_heap: str | None = None  # None: same as heap
    max_metaspace: str = "1g"
    nofile: int = 65536
    log_dir: str | None = None  # None: <prefix>/logs
    data_dir: str | None = None  # None: <prefix>/data
    checkpoint_dir: str | None = None  # None: <data_dir>/checkpoints
    stop_timeout_seconds: int = 120  # SIGTERM, then this long for a graceful Hazelcast shutdown
    image: str | None = None  # None: apache/seatunnel:<version>
    name: str = "seatunnel"  # prefix of compose services and Kubernetes objects
    masters: int = 2  # replicas (compose, Kubernetes)
    workers: int = 2
    namespace: str = "seatunnel"
    # Kubernetes: an existing ReadWriteMany claim for checkpoints, shared by every pod. None: an emptyDir per
    # pod, which neither survives the pod nor is shared (good for a trial, not for streaming jobs).
    checkpoint_claim: str | None = None
    master_resources: Resources = field(default_factory=Resources)
    worker_resources: Resources = field(default_factory=Resources)

    def __post_init__(self) -> None:
        _check(bool(_VERSION.fullmatch(self.version)), f"version {self.version!r} is not like 2.3.12")
        _check(self.prefix.startswith("/") and self.prefix != "/", f"prefix {self.prefix!r} must be absolute")
        _check(bool(self.roles), "roles is empty: give hybrid, or master and/or worker")
        _check(len(set(self.roles)) == len(self.roles), f"roles {self.roles} repeat a role")
        _check(
            Role.HYBRID not in self.roles or len(self.roles) == 1,
            "hybrid runs master and worker in one process: it cannot be combined with master or worker",
        )
        for port_name in ("master_port", "worker_port", "http_port"):
            port = getattr(self, port_name)
            _check(0 < port < 65536, f"{port_name} {port} is not a TCP port")
        if self.worker_http_port is not None:
            _check(0 < self.worker_http_port < 65536, f"worker_http_port {self.worker_http_port} is not a TCP port")
        _check(self.master_port != self.worker_port, "master_port and worker_port must differ")
        both = Role.MASTER in self.roles and Role.WORKER in self.roles
        _check(
            not both or self.worker_http_port not in (None, self.http_port),
            "a master and a worker on one host both start REST v2: set worker_http_port to another port",
        )
        _check(bool(_POSIX_NAME.fullmatch(self.user)), f"user {self.user!r} is not a valid user name")
        _check(bool(_POSIX_NAME.fullmatch(self.group)), f"group {self.group!r} is not a valid group name")
        for size_name in ("heap", "max_metaspace"):
            size = getattr(self, size_name)
            _check(bool(_JVM_SIZE.fullmatch(size)), f"{size_name} {size!r} is not a JVM size like 2g or 512m")
        if self.worker_heap is not None:
            _check(bool(_JVM_SIZE.fullmatch(self.worker_heap)), f"worker_heap {self.worker_heap!r} is not like 2g")
        _check(self.nofile >= 1024, f"nofile {self.nofile} is too low for a Hazelcast member")
        _check(self.stop_timeout_seconds > 0, "stop_timeout_seconds must be positive")
        for path_name in ("java_home", "log_dir", "data_dir", "checkpoint_dir"):
            path = getattr(self, path_name)
            _check(path is None or path.startswith("/"), f"{path_name} {path!r} must be absolute")
        for text_name in ("prefix", "java_home", "log_dir", "data_dir", "checkpoint_dir", "image"):
            text = getattr(self, text_name)
            # A space, quote, % or newline would need escaping in a unit file or a YAML scalar.
            _check(text is None or not re.search(r"[\s\"'%\\$]", text), f"{text_name} {text!r} has a blank or quote")
        _check(bool(_DNS_LABEL.fullmatch(self.name)), f"name {self.name!r} is not a DNS label (a-z, 0-9, -)")
        _check(bool(_DNS_LABEL.fullmatch(self.namespace)), f"namespace {self.namespace!r} is not a DNS label")
        _check(bool(re.fullmatch(r"^[A-Za-z0-9_.-]+$", self.cluster_name)), f"cluster_name {self.cluster_name!r}")
        _check(
            self.checkpoint_claim is None or bool(_DNS_LABEL.fullmatch(self.checkpoint_claim)),
            f"checkpoint_claim {self.checkpoint_claim!r} is not a claim name",
        )
        _check(self.masters >= 1, "masters must be at least 1: a cluster without a master runs nothing")
        _check(self.workers >= 0, "workers cannot be negative")
        for resources in (self.master_resources, self.worker_resources):
            for value in (resources.cpu_request, resources.memory_request, resources.cpu_limit, resources.memory_limit):
                _check(value is None or bool(_QUANTITY.fullmatch(value)), f"resource {value!r} is not a quantity")

    @property
    def home(self) -> str:
        """The engine's directory through the `current` link, so an upgrade only switches the link."""
        return f"{self.prefix}/current"

    @property
    def logs(self) -> str:
        return self.log_dir or f"{self.prefix}/logs"

    @property
    def data(self) -> str:
        return self.data_dir or f"{self.prefix}/data"

    @property
    def checkpoints(self) -> str:
        return self.checkpoint_dir or f"{self.data}/checkpoints"

    @property
    def image_ref(self) -> str:
        return self.image or f"apache/seatunnel:{self.version}"

    def heap_of(self, role: Role) -> str:
        return (self.worker_heap or self.heap) if role is Role.WORKER else self.heap

    def member_port(self, role: Role) -> int:
        return self.worker_port if role is Role.WORKER else self.master_port


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise FormError(message)
