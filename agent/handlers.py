"""The action catalog's handlers: one function per type, each given checked params and a context.

A handler returns the result's `data`, raises `ActionFailed` (a stable code and message) or `Cancelled`.
It reports progress through the context (`ctx.progress`, `ctx.output`), which the daemon forwards at
least every 5 s, and checks `ctx.cancelled()` between its steps. Nothing here takes a command line from
the control plane: each type does one fixed thing with its typed params (docs/AGENT_PROTOCOL.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from agent import engine, facts
from agent.backoff import Backoff
from agent.client import ApiError, ControlPlane, Unavailable
from agent.config import AgentConfig
from agent.managers import ManagerError, ServiceManager, logs_dir
from agent.outbound import FORBIDDEN, OutboundForbidden
from agent.redact import redact
from agent.state import now_iso

# Failure codes of the actions themselves (refusals are in agent.verify).
FAILED = "AGENT_ACTION_FAILED"
CANCELLED = "AGENT_ACTION_CANCELLED"
INTERRUPTED = "AGENT_ACTION_INTERRUPTED"
NOT_CONFIGURED = "AGENT_NOT_CONFIGURED"
PATH_OUTSIDE_LOGS = "AGENT_PATH_OUTSIDE_LOGS"
FILE_NOT_FOUND = "AGENT_FILE_NOT_FOUND"
CHECKSUM_MISMATCH = "AGENT_CHECKSUM_MISMATCH"
DOWNLOAD_FAILED = "AGENT_DOWNLOAD_FAILED"

MAX_CONFIG_FILE = 256 * 1024
MAX_LOG_FILE_IN_BUNDLE = 5 * 1024 * 1024
MAX_TAIL_BYTES = 4 * 1024 * 1024
CONFIG_SUFFIXES = (".yaml", ".yml", ".properties", ".conf", ".config", ".json", ".hocon", ".sh", "_options")
CONFIG_NAMES = ("plugin_config", "jvm_options")


class ActionFailed(Exception):
    def __init__(self, code: str, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data or {}


class Cancelled(Exception):
    pass


@dataclass
class Context:
    """What a handler may use: its params, the config, the managers, and the progress channel."""

    action_id: str
    params: dict[str, Any]
    config: AgentConfig
    service: ServiceManager | None
    worker: ServiceManager | None
    client: ControlPlane
    facts: facts.FactCollector
    artifact_dir: Path
    cancel_event: threading.Event = field(default_factory=threading.Event)
    message: str = ""
    percent: int | None = None
    _chunks: list[str] = field(default_factory=list)
    _tail: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    artifact: Path | None = None

    def progress(self, message: str, percent: int | None = None) -> None:
        with self._lock:
            self.message = message
            if percent is not None:
                self.percent = max(0, min(100, percent))

    def output(self, text: str) -> None:
        if not text:
            return
        with self._lock:
            self._chunks.append(text)
            self._tail = (self._tail + text)[-8192:]

    def take_output(self, limit: int = 60_000) -> str:
        """The output not yet sent, at most `limit` characters (the control plane keeps a chunk of up to
        64 KiB); the rest waits for the next progress message."""
        with self._lock:
            text = "".join(self._chunks)
            chunk, rest = text[:limit], text[limit:]
            self._chunks[:] = [rest] if rest else []
            return chunk

    def give_back_output(self, chunk: str) -> None:
        """A chunk whose progress call failed goes out with the next one."""
        if chunk:
            with self._lock:
                self._chunks.insert(0, chunk)

    @property
    def output_tail(self) -> str:
        with self._lock:
            return self._tail

    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check_cancelled(self) -> None:
        if self.cancel_event.is_set():
            raise Cancelled()


Handler = Callable[[Context], dict[str, Any]]


# -- service and worker ------------------------------------------------------------------------------


def _manager(ctx: Context, role: str) -> ServiceManager:
    manager = ctx.service if role == "service" else ctx.worker
    if manager is None:
        raise ActionFailed(NOT_CONFIGURED, f"this agent's config has no [{role}] section")
    return manager


def _manage(role: str, verb: str) -> Handler:
    def handler(ctx: Context) -> dict[str, Any]:
        manager = _manager(ctx, role)
        timeout = float(ctx.params["timeout_seconds"])
        ctx.progress(f"{verb} {role} ({manager.kind})", 0)
        try:
            with manager.lock:
                ctx.check_cancelled()
                data = getattr(manager, verb)(timeout, ctx.cancel_event)
        except ManagerError as error:
            ctx.output(error.output)
            if error.code == CANCELLED:
                raise Cancelled() from None
            raise ActionFailed(error.code, error.message) from None
        ctx.progress(f"{role} {data['status']['state']}", 100)
        return {"manager": manager.kind, **data}

    return handler


def service_status(ctx: Context) -> dict[str, Any]:
    manager = _manager(ctx, "service")
    return {"manager": manager.kind, "status": manager.status().to_json()}


# -- health ------------------------------------------------------------------------------------------


def health_check(ctx: Context) -> dict[str, Any]:
    service = ctx.service.status().to_json() if ctx.service else None
    base_url = ctx.params.get("url") or ctx.config.engine_url
    engine_part: dict[str, Any] | None = None
    if base_url:
        try:
            overview = engine.overview(base_url, policy=ctx.config.outbound)
            engine_part = {"url": base_url, "reachable": True, "overview": overview}
        except OutboundForbidden as error:  # nothing was sent
            raise ActionFailed(FORBIDDEN, str(error)) from None
        except (httpx.HTTPError, ValueError) as error:
            engine_part = {"url": base_url, "reachable": False, "error": f"{type(error).__name__}: {error}"}
    healthy = (service is None or service["state"] == "running") and (engine_part is None or engine_part["reachable"])
    if service is None and engine_part is None:
        healthy = False
    return {"healthy": healthy, "service": service, "engine": engine_part}


# -- snapshot ----------------------------------------------------------------------------------------


def _home(ctx: Context) -> Path:
    if ctx.config.seatunnel_home is None:
        raise ActionFailed(NOT_CONFIGURED, "this agent's config names no [seatunnel] home")
    return ctx.config.seatunnel_home


def _config_files(home: Path) -> list[Path]:
    config = home / "config"
    if not config.is_dir():
        return []
    return sorted(
        p
        for p in config.iterdir()
        if p.is_file() and not p.is_symlink() and (p.name.endswith(CONFIG_SUFFIXES) or p.name in CONFIG_NAMES)
    )


def _redacted(path: Path) -> str:
    with open(path, "rb") as handle:
        raw = handle.read(MAX_CONFIG_FILE + 1)
    text = raw[:MAX_CONFIG_FILE].decode(errors="replace")
    note = "\n# ... truncated by seatunnel-agent\n" if len(raw) > MAX_CONFIG_FILE else ""
    return redact(text) + note


def snapshot_version_config(ctx: Context) -> dict[str, Any]:
    home = _home(ctx)
    files = {}
    for path in _config_files(home):
        text = _redacted(path)
        files[f"config/{path.name}"] = {"text": text, "sha256": hashlib.sha256(text.encode()).hexdigest()}
    listing = {}
    for sub in ("connectors", "lib", "plugins"):
        with contextlib.suppress(OSError):
            listing[sub] = sorted(p.name for p in (home / sub).iterdir() if p.is_file())
    overview = ctx.facts.overview()
    return {
        "seatunnel_home": str(home),
        "installed_version": facts.home_version(home),
        "running_version": overview.get("projectVersion") if overview else None,
        "java_version": ctx.facts.java(),
        "files": files,
        "jars": listing,
    }


# -- log.tail ----------------------------------------------------------------------------------------


def _inside_logs(ctx: Context, relative: str) -> Path:
    root = logs_dir(ctx.config).resolve()
    target = (root / relative).resolve()  # follows symlinks: a link out of logs/ is caught here
    if target != root and root not in target.parents:
        raise ActionFailed(PATH_OUTSIDE_LOGS, f"{relative!r} resolves outside the logs directory")
    if not target.is_file():
        raise ActionFailed(FILE_NOT_FOUND, f"no log file {relative!r}")
    return target


def tail_lines(path: Path, count: int, max_bytes: int = MAX_TAIL_BYTES) -> list[str]:
    """The last `count` lines, reading backwards in blocks (a log file may be gigabytes)."""
    with open(path, "rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        position, data = end, b""
        while position > 0 and data.count(b"\n") <= count and end - position < max_bytes:
            step = min(65536, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    lines = data.decode(errors="replace").splitlines()
    return lines[-count:]


def log_tail(ctx: Context) -> dict[str, Any]:
    path = _inside_logs(ctx, ctx.params["file"])
    lines = tail_lines(path, ctx.params["lines"])
    ctx.output("\n".join(lines) + ("\n" if lines else ""))
    return {"file": ctx.params["file"], "size_bytes": path.stat().st_size, "lines": lines}


# -- diagnostics.collect -----------------------------------------------------------------------------


def _thread_dump(ctx: Context) -> tuple[str | None, str]:
    """(dump text, how it was taken or why there is none)."""
    pid = ctx.service.jvm_pid() if ctx.service else None
    if pid is not None:
        for argv in (["jcmd", str(pid), "Thread.print"], ["jstack", str(pid)]):
            tool = shutil.which(argv[0], path=facts._java_path())
            if tool is None:
                continue
            try:
                done = subprocess.run(  # noqa: S603 - fixed argv, the pid comes from the service manager
                    [tool, *argv[1:]],
                    capture_output=True,
                    text=True,
                    timeout=60,
                    stdin=subprocess.DEVNULL,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as error:
                return None, f"{argv[0]} failed: {error}"
            if done.returncode == 0:
                return done.stdout, f"{argv[0]} on pid {pid}"
    if ctx.config.engine_url:
        try:
            dump = engine.get_json(ctx.config.engine_url, "/thread-dump", timeout=15, policy=ctx.config.outbound)
            return json.dumps(dump, indent=1), "the engine's /thread-dump"
        except (httpx.HTTPError, ValueError, OutboundForbidden) as error:
            return None, f"no local JVM and the engine's /thread-dump failed: {error}"
    return None, "no local JVM pid and no engine_url"


def diagnostics_collect(ctx: Context) -> dict[str, Any]:
    since = time.time() - ctx.params["since_minutes"] * 60
    bundle = ctx.artifact_dir / f"{ctx.action_id}.tar.gz"
    partial = bundle.with_suffix(".partial")
    manifest: dict[str, Any] = {"created_at": now_iso(), "since_minutes": ctx.params["since_minutes"], "files": []}

    def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(f"diagnostics/{name}")
        info.size = len(data)
        info.mtime = int(time.time())
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
        manifest["files"].append({"name": name, "size": len(data)})

    with tarfile.open(partial, "w:gz") as tar:
        ctx.progress("system facts", 5)
        add(tar, "facts.json", json.dumps(ctx.facts.collect(), indent=1).encode())
        ctx.check_cancelled()
        ctx.progress("engine overview", 15)
        overview: Any = None
        if ctx.config.engine_url:
            try:
                overview = engine.overview(ctx.config.engine_url, policy=ctx.config.outbound)
            except (httpx.HTTPError, ValueError, OutboundForbidden) as error:
                overview = {"error": f"{type(error).__name__}: {error}"}
        add(tar, "overview.json", json.dumps(overview, indent=1).encode())
        ctx.check_cancelled()
        ctx.progress("configs (redacted)", 30)
        if ctx.config.seatunnel_home is not None:
            for path in _config_files(ctx.config.seatunnel_home):
                add(tar, f"config/{path.name}", _redacted(path).encode())
        ctx.check_cancelled()
        ctx.progress("logs", 50)
        root = logs_dir(ctx.config)
        if root.is_dir():
            resolved_root = root.resolve()
            for path in sorted(root.rglob("*")):
                ctx.check_cancelled()
                try:
                    real = path.resolve()
                    if not real.is_file() or resolved_root not in real.parents or real.stat().st_mtime < since:
                        continue
                    with open(real, "rb") as handle:
                        size = handle.seek(0, os.SEEK_END)
                        handle.seek(max(0, size - MAX_LOG_FILE_IN_BUNDLE))
                        data = handle.read()
                except OSError:
                    continue
                add(tar, f"logs/{path.relative_to(root)}", data)
        if ctx.params["include_thread_dump"]:
            ctx.progress("thread dump", 80)
            dump, how = _thread_dump(ctx)
            manifest["thread_dump"] = how
            if dump is not None:
                add(tar, "thread_dump.txt", dump.encode())
        ctx.check_cancelled()
        add(tar, "manifest.json", json.dumps(manifest, indent=1).encode())
    digest = hashlib.sha256()
    with open(partial, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    os.replace(partial, bundle)
    ctx.artifact = bundle
    ctx.progress("bundle ready", 95)
    return {
        "artifact": {"name": bundle.name, "sha256": digest.hexdigest(), "size": bundle.stat().st_size},
        "contents": [f["name"] for f in manifest["files"]],
        "thread_dump": manifest.get("thread_dump"),
    }


# -- plugin.install ----------------------------------------------------------------------------------


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def plugin_install(ctx: Context) -> dict[str, Any]:
    name, sha256, size = ctx.params["name"], ctx.params["sha256"], ctx.params["size"]
    connectors = _home(ctx) / "connectors"
    connectors.mkdir(parents=True, exist_ok=True)
    target = connectors / name
    previous = _sha256_of(target) if target.is_file() else None
    if previous == sha256:
        return {"path": str(target), "sha256": sha256, "size": target.stat().st_size, "already_installed": True}
    partial = connectors / f".{name}.{ctx.action_id}.partial"
    backoff = Backoff()
    try:
        for attempt in range(1, 6):
            ctx.check_cancelled()
            ctx.progress(f"downloading {name} (attempt {attempt})", 10)
            try:
                with open(partial, "wb") as out:
                    got_sha, got_size = ctx.client.download_file(sha256, out, max_bytes=size)
                    out.flush()
                    os.fsync(out.fileno())
                break
            except Unavailable as error:
                ctx.output(f"download failed: {error}\n")
                if attempt == 5:
                    raise ActionFailed(DOWNLOAD_FAILED, f"the control plane did not serve the file: {error}") from None
                ctx.cancel_event.wait(backoff.next_delay())
            except ApiError as error:
                raise ActionFailed(DOWNLOAD_FAILED, f"the control plane refused the file: {error}") from None
        if got_size != size or got_sha != sha256:
            raise ActionFailed(
                CHECKSUM_MISMATCH,
                f"got {got_size} bytes with sha256 {got_sha}; expected {size} bytes with sha256 {sha256}",
            )
        ctx.check_cancelled()
        os.chmod(partial, 0o644)
        os.replace(partial, target)  # atomic: the engine never sees half a jar
        fd = os.open(connectors, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        partial.unlink(missing_ok=True)
    ctx.progress(f"installed {name}", 100)
    return {"path": str(target), "sha256": sha256, "size": size, "replaced_sha256": previous}


HANDLERS: dict[str, Handler] = {
    "service.status": service_status,
    "service.start": _manage("service", "start"),
    "service.stop": _manage("service", "stop"),
    "service.restart": _manage("service", "restart"),
    "worker.start": _manage("worker", "start"),
    "worker.stop": _manage("worker", "stop"),
    "health.check": health_check,
    "snapshot.version_config": snapshot_version_config,
    "log.tail": log_tail,
    "diagnostics.collect": diagnostics_collect,
    "plugin.install": plugin_install,
}

# The installer's actions live in a module of their own (they carry the installer core); it imports this one.
from agent.installer_actions import HANDLERS as _INSTALLER_HANDLERS  # noqa: E402

HANDLERS.update(_INSTALLER_HANDLERS)
