"""A small fake SeaTunnel distribution with the real layout (ZETA_FACTS §4.2), and a real HTTP server to fetch
it from. Its `bin/seatunnel-cluster.sh` runs the project's Zeta emulator on the REST port the installer wrote
into `config/seatunnel.yaml`, pretending to be that version; a `broken` one exits at once, as an engine that
cannot start would. The fake engine records how it was started (`logs/fake-engine.json`)."""

from __future__ import annotations

import hashlib
import io
import random
import socket
import sys
import tarfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SEATUNNEL_YAML = """\
seatunnel:
  engine:
    classloader-cache-mode: true
    history-job-expire-minutes: 1440
    backup-count: 1
    queue-type: blockingqueue
    print-execution-info-interval: 60
    print-job-metrics-info-interval: 60
    slot-service:
      dynamic-slot: true
    checkpoint:
      interval: 10000
      timeout: 60000
      storage:
        type: hdfs
        max-retained: 3
        plugin-config:
          namespace: /tmp/seatunnel/checkpoint_snapshot
          storage.type: hdfs
          fs.defaultFS: file:///tmp/
    telemetry:
      metric:
        enabled: false
      logs:
        scheduled-deletion-enable: true
    http:
      enable-http: true
      port: 8080
      enable-dynamic-port: false
"""


def hazelcast_yaml(port: int, members: list[str], key: str = "hazelcast") -> str:
    listed = "\n".join(f"          - {m}" for m in members)
    return f"""\
{key}:
  cluster-name: seatunnel
  network:
    rest-api:
      enabled: false
      endpoint-groups:
        CLUSTER_WRITE:
          enabled: true
        DATA:
          enabled: true
    join:
      tcp-ip:
        enabled: true
        member-list:
{listed}
    port:
      auto-increment: false
      port: {port}
  properties:
    hazelcast.invocation.max.retry.count: 20
    hazelcast.tcp.join.port.try.count: 30
    hazelcast.logging.type: log4j2
"""


CLIENT_YAML = """\
hazelcast-client:
  cluster-name: seatunnel
  properties:
    hazelcast.logging.type: log4j2
  connection-strategy:
    connection-retry:
      cluster-connect-timeout-millis: 3000
  network:
    cluster-members:
      - localhost:5801
"""

JVM = (
    "\n".join(
        ["-Xms2g", "-Xmx2g", "-XX:+HeapDumpOnOutOfMemoryError", "-XX:HeapDumpPath=/tmp/seatunnel/dump/zeta-server"]
    )
    + "\n"
)
LOG4J2 = "rootLogger.level = INFO\n# the engine's log4j2 file, kept as shipped\n"

CLUSTER_SH = """\
#!/bin/sh
# A stand-in for SeaTunnel's start script (tests only): runs the fake engine in the foreground.
here="$(cd "$(dirname "$0")/.." && pwd)"
exec "{python}" "$here/bin/fake-engine.py" "$@"
"""

FAKE_ENGINE = """\
import json, os, sys
import yaml

VERSION = {version!r}
BROKEN = {broken!r}
ROOT = {root!r}
CLUSTER_DIR = {cluster_dir!r}
home = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
role = sys.argv[sys.argv.index("-r") + 1] if "-r" in sys.argv else "hybrid"
hazelcast = {{"hybrid": "hazelcast.yaml", "master": "hazelcast-master.yaml", "worker": "hazelcast-worker.yaml"}}[role]
config = yaml.safe_load(open(os.path.join(home, "config", "seatunnel.yaml")))
members = yaml.safe_load(open(os.path.join(home, "config", hazelcast)))
http = config["seatunnel"]["engine"]["http"]
logs = os.path.join(os.path.dirname(home), "logs")  # home is <prefix>/current
os.makedirs(logs, exist_ok=True)
with open(os.path.join(logs, "fake-engine.json"), "w") as out:
    json.dump({{"version": VERSION, "argv": sys.argv[1:], "home": home, "http": http,
               "hazelcast": members["hazelcast"], "java_home": os.environ.get("JAVA_HOME")}}, out)
if BROKEN or os.path.exists(os.path.join(os.path.dirname(home), "BREAK-" + VERSION)):  # a node told to fail
    print("Error: Could not find or load main class org.apache.seatunnel.core.starter.seatunnel.SeaTunnelServer")
    sys.exit(1)
args = [sys.executable, "-m", "controlplane.seatunnel.emulator", "--port", str(http["port"]), "--version", VERSION]
if CLUSTER_DIR:  # one member of an emulated cluster shared by every node built with the same directory
    args += ["--cluster-dir", CLUSTER_DIR, "--role", role]
if http.get("enable-basic-auth"):
    args += ["--basic-auth", http["basic-auth-username"] + ":" + http["basic-auth-password"]]
os.chdir(ROOT)
os.execve(sys.executable, args, {{**os.environ, "PYTHONPATH": ROOT}})
"""


def build_tarball(
    directory: Path,
    version: str,
    *,
    broken: bool = False,
    reports: str | None = None,
    cluster_dir: Path | None = None,
) -> Path:
    """apache-seatunnel-<ver>-bin.tar.gz and its .sha512 (sha512sum layout) in `directory`. `reports`: the
    engine runs but its REST API says it is that other version (a wrong or half-upgraded build). `cluster_dir`:
    the engine is one member of the emulated cluster in that directory (`--cluster-dir`, its role from `-r`), so
    nodes installed from it form one cluster. Any engine exits at once, as a broken one, on a node whose prefix
    holds a file `BREAK-<version>` (one node of a cluster failing its upgrade)."""
    top = f"apache-seatunnel-{version}"
    files: dict[str, tuple[bytes, int]] = {
        "bin/seatunnel-cluster.sh": (CLUSTER_SH.format(python=sys.executable).encode(), 0o755),
        "bin/fake-engine.py": (
            FAKE_ENGINE.format(
                version=reports or version,
                broken=broken,
                root=str(ROOT),
                cluster_dir=str(cluster_dir) if cluster_dir else None,
            ).encode(),
            0o644,
        ),
        "bin/seatunnel.sh": (b"#!/bin/sh\necho client\n", 0o755),
        "bin/stop-seatunnel-cluster.sh": (b"#!/bin/sh\necho stop\n", 0o755),
        "bin/install-plugin.sh": (b"#!/bin/sh\necho needs maven central\n", 0o755),
        "config/seatunnel.yaml": (SEATUNNEL_YAML.encode(), 0o644),
        "config/hazelcast.yaml": (hazelcast_yaml(5801, ["localhost"]).encode(), 0o644),
        "config/hazelcast-master.yaml": (hazelcast_yaml(5801, ["localhost:5801", "localhost:5802"]).encode(), 0o644),
        "config/hazelcast-worker.yaml": (hazelcast_yaml(5802, ["localhost:5801", "localhost:5802"]).encode(), 0o644),
        "config/hazelcast-client.yaml": (CLIENT_YAML.encode(), 0o644),
        "config/jvm_options": (JVM.encode(), 0o644),
        "config/jvm_master_options": (JVM.encode(), 0o644),
        "config/jvm_worker_options": (JVM.encode(), 0o644),
        "config/jvm_client_options": (b"-Xms256m\n-Xmx512m\n", 0o644),
        "config/log4j2.properties": (LOG4J2.encode(), 0o644),
        "config/log4j2_client.properties": (LOG4J2.encode(), 0o644),
        "config/plugin_config": (b"--connectors-v2--\nconnector-fake\nconnector-console\n--end--\n", 0o644),
        "connectors/plugin-mapping.properties": (
            b"seatunnel.source.FakeSource = connector-fake\nseatunnel.sink.Console = connector-console\n",
            0o644,
        ),
        f"connectors/connector-fake-{version}.jar": (b"PK fake connector\n", 0o644),
        f"connectors/connector-console-{version}.jar": (b"PK console connector\n", 0o644),
        "lib/seatunnel-hadoop3-3.1.4-uber.jar": (b"PK hadoop\n" + random.Random(version).randbytes(300_000), 0o644),
        "starter/seatunnel-starter.jar": (b"PK starter\n" + version.encode() * 1000, 0o644),
        "starter/logging/log4j-api.jar": (b"PK log4j\n", 0o644),
        "LICENSE": (b"Apache License 2.0\n", 0o644),
    }
    tarball = directory / f"{top}-bin.tar.gz"
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "w:gz") as archive:
        for dirname in (top, f"{top}/bin", f"{top}/config", f"{top}/connectors", f"{top}/lib", f"{top}/starter"):
            info = tarfile.TarInfo(dirname)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        for name, (data, mode) in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mode = len(data), mode
            archive.addfile(info, io.BytesIO(data))
    digest = hashlib.sha512(tarball.read_bytes()).hexdigest()
    (directory / f"{tarball.name}.sha512").write_text(f"{digest}  {tarball.name}\n")
    return tarball


@dataclass
class DistServer:
    """A real HTTP server over a directory laid out like the Apache archive, with Range support. `stall` makes
    the first full GET of a tarball send `stall` bytes and then hang until `release` is set (to cut a download
    off mid-way)."""

    root: Path
    url: str = ""
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    stall: int | None = None
    release: threading.Event = field(default_factory=threading.Event)
    stalled: threading.Event = field(default_factory=threading.Event)


def serve(root: Path) -> tuple[DistServer, ThreadingHTTPServer]:
    state = DistServer(root=root)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            header = self.headers.get("Range")
            state.requests.append((self.path, header))
            path = (state.root / self.path.lstrip("/")).resolve()
            if not path.is_relative_to(state.root) or not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            start = int(header.removeprefix("bytes=").split("-")[0]) if header else 0
            if start >= len(data) and header:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            body = data[start:]
            self.send_response(206 if header else 200)
            if header:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if state.stall is not None and not header and path.name.endswith(".tar.gz"):
                self.wfile.write(body[: state.stall])
                self.wfile.flush()
                state.stalled.set()
                state.release.wait(60)
                return
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def fake_java(directory: Path, version_line: str) -> Path:
    """A JAVA_HOME whose bin/java prints `version_line` on stderr, as `java -version` does."""
    java = directory / "bin" / "java"
    java.parent.mkdir(parents=True, exist_ok=True)
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\necho 'OpenJDK Runtime Environment' >&2\n")
    java.chmod(0o755)
    return directory
