"""Node facts for the heartbeat (docs/AGENT_PROTOCOL.md, "Heartbeat"): read from /proc, the SeaTunnel
home, `java -version`, the engine's /overview and the service manager. Each fact that cannot be read is
null rather than an error: a heartbeat must go out whatever the node looks like.
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


class FactCollector:
    """Builds the heartbeat's `facts`; the Java version is looked up once every ten minutes."""

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
            "engine_reachable": overview is not None if self.engine_url else None,
            "service": self.service(),
        }
