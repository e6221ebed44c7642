"""Facts about the machine a report was measured on: CPU, memory, disk sync speed, software versions."""

from __future__ import annotations

import glob
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def cpu_facts() -> dict[str, Any]:
    info = _read("/proc/cpuinfo")
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), None)
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "model": model or platform.processor() or None,
        "count": os.cpu_count(),
        "usable_by_this_process": usable,
        "virtualised": "hypervisor" in flags,
    }


def memory_facts() -> dict[str, Any]:
    values = {}
    for line in _read("/proc/meminfo").splitlines():
        name, _, rest = line.partition(":")
        if name in ("MemTotal", "MemAvailable"):
            values[name] = int(rest.split()[0]) // 1024
    return {"total_mib": values.get("MemTotal"), "available_mib_at_start": values.get("MemAvailable")}


def filesystem_of(path: str | Path) -> dict[str, Any]:
    """The mount that holds ``path``: device, type and mount point (longest matching mount point)."""
    target = os.path.realpath(path)
    best: tuple[str, str, str] | None = None
    for line in _read("/proc/mounts").splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        device, mount_point, fstype = parts[0], parts[1].replace("\\040", " "), parts[2]
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) > len(best[1])):
            best = (device, mount_point, fstype)
    if best is None:
        return {"path": target}
    return {"path": target, "device": best[0], "mount_point": best[1], "type": best[2]}


def find_pg_test_fsync() -> str | None:
    found = os.environ.get("PG_TEST_FSYNC") or shutil.which("pg_test_fsync")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_test_fsync"), reverse=True)
    return candidates[0] if candidates else None


SECTION = re.compile(r"^Compare (?:file sync methods using )?(.+?):?$")
METHOD = re.compile(r"^\s+(\S.*?)\s{2,}([\d.]+) ops/sec\s+(\d+) usecs/op")


def parse_pg_test_fsync(text: str) -> dict[str, dict[str, float]]:
    """Sections of pg_test_fsync's output -> {method: ops/sec}; "n/a" methods are left out."""
    sections: dict[str, dict[str, float]] = {}
    current = "preamble"
    for line in text.splitlines():
        header = SECTION.match(line.strip())
        if header and line.startswith("Compare"):
            current = header.group(1).strip()
            continue
        if line.startswith(("Test if fsync", "Non-sync")):
            current = line.strip().rstrip(":")
            continue
        match = METHOD.match(line)
        if match:
            sections.setdefault(current, {})[match.group(1).strip()] = float(match.group(2))
    return sections


def pg_test_fsync(directory: Path, seconds: int = 1) -> dict[str, Any]:
    """Run pg_test_fsync briefly on ``directory``'s filesystem; the headline figures are the one-8kB-write
    fdatasync and open_datasync rates, the ceiling for commits of one session that each wait for a sync."""
    binary = find_pg_test_fsync()
    if binary is None:
        return {"error": "pg_test_fsync not found (set PG_TEST_FSYNC)"}
    directory.mkdir(parents=True, exist_ok=True)
    probe = directory / "pg_test_fsync.tmp"
    try:
        done = subprocess.run(
            [binary, "-s", str(seconds), "-f", str(probe)], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"{binary}: {exc}"}
    finally:
        probe.unlink(missing_ok=True)
    sections = parse_pg_test_fsync(done.stdout)
    one_write = next((v for k, v in sections.items() if k.startswith("one 8kB")), {})
    two_writes = next((v for k, v in sections.items() if k.startswith("two 8kB")), {})
    return {
        "binary": binary,
        "seconds_per_test": seconds,
        "filesystem": filesystem_of(directory),
        "exit_code": done.returncode,
        "fdatasync_ops_per_s": one_write.get("fdatasync"),
        "open_datasync_ops_per_s": one_write.get("open_datasync"),
        "one_8kB_write_ops_per_s": one_write,
        "two_8kB_writes_ops_per_s": two_writes,
        "lines": [
            " ".join(line.split())
            for line in done.stdout.splitlines()
            if "ops/sec" in line and re.search(r"(fdatasync|open_datasync)\s", line)
        ],
    }


def software_versions() -> dict[str, Any]:
    import django

    versions: dict[str, Any] = {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    try:
        import psycopg

        versions["psycopg"] = psycopg.__version__
        versions["libpq"] = psycopg.pq.version()
        versions["psycopg_implementation"] = psycopg.pq.__impl__
    except ImportError:
        pass
    try:
        import MySQLdb

        versions["mysqlclient"] = ".".join(str(p) for p in MySQLdb.version_info[:3])
    except ImportError:
        pass
    return versions


def pressure() -> dict[str, Any]:
    """Linux pressure stall information: the share of time some task waited for CPU or IO (avg10/avg60, %).
    High values before a run mean other work on the machine is competing with the benchmark."""
    out: dict[str, Any] = {}
    for resource_name in ("cpu", "io"):
        line = _read(f"/proc/pressure/{resource_name}").splitlines()[:1]
        if line:
            fields = dict(item.split("=", 1) for item in line[0].split()[1:])
            out[resource_name] = {"some_avg10": float(fields["avg10"]), "some_avg60": float(fields["avg60"])}
    return out


def machine_facts(data_dir: Path, fsync_seconds: int | None = 1) -> dict[str, Any]:
    os_release = dict(line.split("=", 1) for line in _read("/etc/os-release").splitlines() if "=" in line)
    facts: dict[str, Any] = {
        "hostname": platform.node(),
        "os": os_release.get("PRETTY_NAME", "").strip('"') or platform.platform(),
        "kernel": platform.release(),
        "cpu": cpu_facts(),
        "memory": memory_facts(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "pressure_at_start": pressure(),
        "data_dir": filesystem_of(data_dir),
        "python_executable": sys.executable,
        "versions": software_versions(),
    }
    if fsync_seconds:
        facts["pg_test_fsync"] = pg_test_fsync(data_dir, fsync_seconds)
    return facts
