"""Preflight: is this host fit for this engine version? OS, Java, CPU/memory/disk, ports, user, directories and
clock. It changes nothing; a refusal names the problem and what to do, and the node stays as it was."""

from __future__ import annotations

import errno
import os
import platform
import pwd
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from installer import errors, fsutil, versions
from installer.errors import InstallerError
from installer.steps import Context

_JAVA_VERSION = re.compile(r'version\s+"([^"]+)"')
_MIN_EPOCH = 1704067200  # 2024-01-01: a clock before this breaks TLS and signature checks


def java_binary(java_home: str | None) -> Path | None:
    home = java_home or os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return candidate if candidate.exists() else None
    found = shutil.which("java")
    return Path(found) if found else None


def parse_java_version(output: str) -> int | None:
    """The major version from `java -version` output, tolerantly: `openjdk version "11.0.2" 2019-01-15`,
    `java version "1.8.0_292"`, `openjdk version "17" 2021-09-14`, `openjdk version "21-ea"`, on stdout or
    stderr, among JAVA_TOOL_OPTIONS noise."""
    match = _JAVA_VERSION.search(output)
    if not match:
        return None
    text = match.group(1)
    parts = re.split(r"[._+-]", text)
    try:
        first = int(parts[0])
        return int(parts[1]) if first == 1 and len(parts) > 1 else first
    except ValueError:
        return None


def check_java(ctx: Context) -> dict[str, Any]:
    wanted = versions.java_majors(ctx.spec.version)
    wanted_text = " or ".join(str(v) for v in wanted)
    java = java_binary(ctx.spec.java_home)
    if java is None:
        where = ctx.spec.java_home or os.environ.get("JAVA_HOME")
        raise InstallerError(
            errors.JAVA_MISSING,
            f"No Java found ({'no bin/java under ' + where if where else 'no JAVA_HOME and no java on PATH'}).",
            f"SeaTunnel {ctx.spec.version} needs Java {wanted_text}: install a JDK and pass --java-home or set "
            "JAVA_HOME.",
        )
    try:
        done = subprocess.run(  # noqa: S603 - the java binary the operator pointed at, fixed argument
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise InstallerError(
            errors.JAVA_MISSING, f"{java} -version could not run: {error}.", "Check the JDK installation."
        ) from None
    output = (done.stderr or "") + (done.stdout or "")
    major = parse_java_version(output)
    if major is None:
        raise InstallerError(
            errors.JAVA_MISSING,
            f"{java} -version did not print a version (it said {output.strip()[:200]!r}).",
            f"Point --java-home at a JDK {wanted_text}.",
        )
    if major not in wanted:
        raise InstallerError(
            errors.JAVA_UNSUPPORTED,
            f"{java} is Java {major}; SeaTunnel {ctx.spec.version} runs on Java {wanted_text}.",
            f"Install Java {wanted_text} and pass its home with --java-home.",
            java=str(java),
            found=major,
        )
    return {"java": str(java), "java_major": major}


def listeners(port: int) -> set[int]:
    """Inodes of sockets listening on `port` (IPv4 and IPv6), from /proc/net."""
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(int(fields[9]))
    return inodes


def socket_owners(inodes: set[int]) -> set[int]:
    """Pids holding any of these socket inodes (only the processes this user may inspect)."""
    wanted = {f"socket:[{inode}]" for inode in inodes}
    owners: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    owners.add(int(entry.name))
                    break
        except OSError:
            continue
    return owners


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 - a probe: would the engine's bind on all interfaces work
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            if error.errno == errno.EACCES:
                raise InstallerError(
                    errors.PORT_FORBIDDEN,
                    f"Port {port} cannot be bound by this user (ports below 1024 need privileges).",
                    "Choose a port above 1024, or run the engine as a user allowed to bind it.",
                    port=port,
                ) from None
            raise
    return True


def check_ports(ports: tuple[int, ...], our_pid: int | None) -> dict[str, Any]:
    """Each port must be free, or held by our own running service (an upgrade checks while the old engine runs)."""
    found: dict[str, str] = {}
    for port in ports:
        if port_free(port):
            found[str(port)] = "free"
            continue
        owners = socket_owners(listeners(port))
        if our_pid is not None and owners and all(_pgid(pid) == our_pid for pid in owners):
            found[str(port)] = "ours"
            continue
        who = ", ".join(f"pid {pid} ({_comm(pid)})" for pid in sorted(owners)) or "a process this user cannot see"
        raise InstallerError(
            errors.PORT_IN_USE,
            f"Port {port} is in use by {who}.",
            f"Stop what holds port {port}, or choose other ports (--http-port, --member-port).",
            port=port,
            pids=sorted(owners),
        )
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def check_machine(ctx: Context) -> dict[str, Any]:
    if platform.system() != "Linux":
        raise InstallerError(
            errors.OS_UNSUPPORTED, f"This is {platform.system()}, not Linux.", "Install on a Linux host."
        )
    os_name = "Linux"
    try:
        release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
        os_name = release.get("PRETTY_NAME", os_name).strip('"')
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                memory = int(line.split()[1]) * 1024
    except OSError:
        pass
    anchor = fsutil.existing_ancestor(ctx.spec.prefix)
    free = shutil.disk_usage(anchor).free
    if free < ctx.spec.min_free_disk:
        raise InstallerError(
            errors.NO_DISK,
            f"{anchor} has {free // (1 << 20)} MiB free; the install needs {ctx.spec.min_free_disk // (1 << 20)} MiB.",
            "Free some space under the prefix or choose another --prefix.",
            free=free,
            needed=ctx.spec.min_free_disk,
        )
    if not os.access(anchor, os.W_OK):
        raise InstallerError(
            errors.NOT_WRITABLE,
            f"{anchor} is not writable by this user, so {ctx.spec.prefix} cannot be created or changed.",
            "Run as a user who owns the prefix, or choose another --prefix.",
        )
    notes = []
    cpus = os.cpu_count() or 1
    if cpus < 2:
        notes.append(f"only {cpus} CPU: the engine wants at least 2")
    if memory is not None and memory < 2 << 30:
        notes.append(f"only {memory >> 20} MiB memory available: the shipped JVM options ask for a 2 GiB heap")
    return {"os": os_name, "cpus": cpus, "memory_available": memory, "disk_free": free, "notes": notes}


def check_user(ctx: Context) -> dict[str, Any]:
    current = pwd.getpwuid(os.getuid()).pw_name
    user = ctx.spec.user
    if user is None:
        return {"user": current}
    try:
        pwd.getpwnam(user)
    except KeyError:
        raise InstallerError(
            errors.USER_MISSING,
            f"The user {user!r} does not exist on this host.",
            f"Create it (useradd --system {user}) or leave --user out to run as {current}.",
        ) from None
    if ctx.spec.form == "process" and user != current:
        raise InstallerError(
            errors.USER_MISSING,
            f"The process form runs the engine as the installing user ({current}), not {user!r}.",
            f"Run the installer as {user}, or use --form systemd (User= in the unit).",
        )
    return {"user": user}


def check_clock() -> dict[str, Any]:
    now = time.time()
    if now < _MIN_EPOCH:
        raise InstallerError(
            errors.CLOCK_WRONG,
            f"The system clock says {time.strftime('%Y-%m-%d', time.gmtime(now))}.",
            "Set the clock (chrony/ntpd): TLS downloads, signatures and the cluster's heartbeats need it.",
        )
    # Skew against the other members is not measured here (no member is reachable before it is installed).
    return {"utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "skew": "not measured"}


def run(ctx: Context, our_pid: int | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    result.update(check_machine(ctx))
    result.update(check_user(ctx))
    result.update(check_java(ctx))
    result["ports"] = check_ports(ctx.spec.ports, our_pid)
    result["clock"] = check_clock()
    for note in result.get("notes", []):
        ctx.reporter.note(f"preflight: {note}")
    return result
