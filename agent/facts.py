"""Node facts for the heartbeat (docs/AGENT_PROTOCOL.md, "Heartbeat"): read from /proc, the SeaTunnel
home (its version, and the jars installed in its connectors/ and lib/), `java -version`, the engine's /overview
and the service manager. Each fact that cannot be read is null rather than an error: a heartbeat must go out
whatever the node looks like.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from agent import engine
from agent.managers.base import ServiceManager

_VERSION_JAR = re.compile(
    r"^(?:connector-(?:fake|console)|seatunnel-transforms-v2|seatunnel-starter)-(\d+\.\d+\.\d+(?:-[\w.]+)?)\.jar$"
)
_VERSION_DIR = re.compile(r"^apache-seatunnel(?:-incubating)?-(\d+\.\d+\.\d+(?:-[\w.]+)?)(?:-bin)?$")
_JAVA_VERSION = re.compile(r'version "([^"]+)"')
# `<artifact>-<version>.jar`, as Maven names what install-plugin.sh fetches: connector-jdbc-2.3.12.jar,
# connector-cdc-mysql-2.3.12-SNAPSHOT.jar, seatunnel-transforms-v2-2.3.12.jar. The artifact is what
# plugin-mapping.properties maps a job config's plugin name to (`seatunnel.source.Jdbc = connector-jdbc`). The
# version starts at the last `-<digits>.<digits>` of the name (seatunnel-hadoop3-3.1.4-uber-2.3.12-optional.jar:
# artifact seatunnel-hadoop3-3.1.4-uber, version 2.3.12-optional).
_ARTIFACT_JAR = re.compile(r"^(?P<artifact>.+)-(?P<version>\d+(?:\.\d+)+(?:[-.][0-9A-Za-z]+)*)\.jar$", re.IGNORECASE)
MAX_JARS = 500  # per directory, the first by name; install-plugin.sh with the default plugin_config installs ~75
# A directory changed this recently is listed again next time: a jar added within the same tick of a coarse
# file-system clock would leave the mtime as it was listed (git's "racy" index entries, the same remedy).
RACY_SECONDS = 2.0


def addresses() -> list[str]:
    """This host's non-loopback addresses (IPv4 from the interfaces, global IPv6 from /proc)."""
    found: list[str] = []
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(sock.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))  # SIOCGIFADDR
            except OSError:
                continue
            address = socket.inet_ntoa(packed[20:24])
            if not ipaddress.ip_address(address).is_loopback and address not in found:
                found.append(address)
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            raw = line.split()[0]
            address = str(ipaddress.IPv6Address(bytes.fromhex(raw)))
            ip = ipaddress.ip_address(address)
            if not (ip.is_loopback or ip.is_link_local) and address not in found:
                found.append(address)
    return found


def memory() -> tuple[int | None, int | None]:
    values: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                values[key] = int(parts[0]) * 1024
    return values.get("MemTotal"), values.get("MemAvailable")


def java_version() -> str | None:
    java = shutil.which("java", path=_java_path())
    if java is None:
        return None
    try:
        # `java -version` prints to stderr: openjdk version "17.0.9" 2023-10-17
        completed = subprocess.run(  # noqa: S603 - fixed argv
            [java, "-version"], capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _JAVA_VERSION.search(completed.stderr or completed.stdout or "")
    return match.group(1) if match else None


def _java_path() -> str | None:
    java_home = os.environ.get("JAVA_HOME")
    path = os.environ.get("PATH", os.defpath)
    return f"{java_home}/bin{os.pathsep}{path}" if java_home else path


def home_version(home: Path | None) -> str | None:
    """The installed SeaTunnel version, from jar names that carry it (the bin tarball ships the fake and
    console connectors and the v2 transforms), else the apache-seatunnel-<ver> directory name."""
    if home is None:
        return None
    for sub in ("connectors", "lib", "starter"):
        with contextlib.suppress(OSError):
            for entry in sorted(os.listdir(home / sub)):
                match = _VERSION_JAR.match(entry)
                if match:
                    return match.group(1)
    with contextlib.suppress(OSError):
        match = _VERSION_DIR.match(home.resolve().name)
        if match:
            return match.group(1)
    return None


def connector_jar(file_name: str) -> dict[str, str | None]:
    """A jar of connectors/ as the heartbeat reports it: its file name, and the artifact and version its name
    carries (`connector-jdbc-2.3.12.jar` -> `connector-jdbc`, `2.3.12`); a name without a version keeps its
    whole stem as the artifact, and `version` is null."""
    match = _ARTIFACT_JAR.match(file_name)
    if match is None:
        return {"file": file_name, "artifact": file_name[: -len(".jar")], "version": None}
    return {"file": file_name, "artifact": match["artifact"], "version": match["version"]}


def jar_names(directory: Path) -> list[str]:
    """The `*.jar` files directly in `directory` (the engine reads neither sub-directories nor other files
    there), sorted, at most MAX_JARS. OSError when it cannot be listed."""
    with os.scandir(directory) as entries:
        names = sorted(e.name for e in entries if e.name.lower().endswith(".jar") and _is_file(e))
    return names[:MAX_JARS]


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()  # follows a symlink: jars are often links into a shared store
    except OSError:
        return False


class FactCollector:
    """Builds the heartbeat's `facts`; the Java version is looked up once every ten minutes, and the home's
    connectors/ and lib/ are listed again only when their mtime changed."""

    JAVA_TTL = 600.0

    def __init__(
        self,
        *,
        seatunnel_home: Path | None,
        engine_url: str | None,
        configured_version: str | None,
        manager: ServiceManager | None,
        fallback_disk_path: Path,
    ) -> None:
        self.seatunnel_home = seatunnel_home
        self.engine_url = engine_url
        self.configured_version = configured_version
        self.manager = manager
        self.fallback_disk_path = fallback_disk_path
        self._java: tuple[float, str | None] | None = None
        self._lock = threading.Lock()
        # directory -> ((device, inode, mtime in ns), its jar names): a home switched by a symlink is another inode
        self._listings: dict[Path, tuple[tuple[int, int, int], list[str]]] = {}

    def java(self) -> str | None:
        with self._lock:
            if self._java is None or time.monotonic() - self._java[0] > self.JAVA_TTL:
                self._java = (time.monotonic(), java_version())
            return self._java[1]

    def overview(self) -> dict[str, Any] | None:
        if not self.engine_url:
            return None
        try:
            return engine.overview(self.engine_url, timeout=3.0)
        except Exception:  # an engine that does not answer is a fact, not an error
            return None

    def jars(self, sub: str) -> list[str] | None:
        """The jar names in `<home>/<sub>`, from the last listing while the directory's mtime is the same;
        null without a home or when the directory cannot be read."""
        if self.seatunnel_home is None:
            return None
        directory = self.seatunnel_home / sub
        try:
            stat = os.stat(directory)
            key = (stat.st_dev, stat.st_ino, stat.st_mtime_ns)
            with self._lock:
                cached = self._listings.get(directory)
                if cached is not None and cached[0] == key:
                    return list(cached[1])
            names = jar_names(directory)
        except OSError:
            with self._lock:
                self._listings.pop(directory, None)
            return None
        with self._lock:
            if time.time() - stat.st_mtime_ns / 1e9 > RACY_SECONDS:
                self._listings[directory] = (key, names)
            else:
                self._listings.pop(directory, None)
        return names

    def connector_jars(self) -> list[dict[str, str | None]] | None:
        names = self.jars("connectors")
        return None if names is None else [connector_jar(name) for name in names]

    def service(self) -> dict[str, Any]:
        if self.manager is None:
            return {"manager": None, "state": "unknown"}
        status = self.manager.status()
        return {"manager": self.manager.kind, "state": status.state, "pid": status.pid}

    def collect(self) -> dict[str, Any]:
        total, available = memory()
        home = self.seatunnel_home
        disk_path = home if home and home.exists() else self.fallback_disk_path
        disk: dict[str, Any] = {"path": str(disk_path), "total_bytes": None, "free_bytes": None}
        with contextlib.suppress(OSError):
            usage = shutil.disk_usage(disk_path)
            disk.update(total_bytes=usage.total, free_bytes=usage.free)
        overview = self.overview()
        version, source = None, None
        if overview and overview.get("projectVersion"):
            version, source = str(overview["projectVersion"]), "engine"
        elif (installed := home_version(self.seatunnel_home)) is not None:
            version, source = installed, "home"
        elif self.configured_version:
            version, source = self.configured_version, "config"
        try:
            load = round(os.getloadavg()[0], 2)
        except OSError:
            load = None
        return {
            "hostname": socket.gethostname(),
            "addresses": addresses(),
            "cpu_count": os.cpu_count(),
            "load_1m": load,
            "memory_total_bytes": total,
            "memory_available_bytes": available,
            "disk": disk,
            "java_version": self.java(),
            "seatunnel_version": version,
            "seatunnel_version_source": source,
            "seatunnel_home": str(self.seatunnel_home) if self.seatunnel_home else None,
            "connector_jars": self.connector_jars(),
            "lib_jars": self.jars("lib"),
            "engine_reachable": overview is not None if self.engine_url else None,
            "service": self.service(),
        }
