"""Render the node's config into `versions/<version>/config/` from the files the distribution shipped
(kept under `.installer/dist/<version>/config/`), changing only the keys this installer owns; everything else
the release ships (comments aside: YAML is re-emitted) stays as shipped, and log4j2 files are kept untouched.

Keys (ZETA_FACTS §4.4 to §4.6, §1.1): `seatunnel.engine.http` (port, no dynamic port, HTTPS and basic auth when
asked), `checkpoint.storage` (hdfs plugin on a local or shared file system), `telemetry.metric.enabled`;
`hazelcast.cluster-name`, the TCP-IP `member-list` and `network.port` in the role's hazelcast file;
`hazelcast-client.yaml` `cluster-name` and `cluster-members`; -Xms/-Xmx in the role's JVM options.
Dotted keys such as `storage.type` and `fs.defaultFS` are single flat keys in the engine's YAML, as shipped.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from installer import errors, fsutil
from installer.errors import InstallerError
from installer.spec import InstallSpec, Layout
from installer.steps import Context

HAZELCAST_FILE = {"hybrid": "hazelcast.yaml", "master": "hazelcast-master.yaml", "worker": "hazelcast-worker.yaml"}
JVM_FILE = {"hybrid": "jvm_options", "master": "jvm_master_options", "worker": "jvm_worker_options"}
SECRET_WORDS = ("password",)

Reader = Callable[[str], bytes | None]


def _load(read: Reader, name: str) -> dict[str, Any]:
    data = read(name)
    if data is None:
        raise InstallerError(
            errors.BAD_ARCHIVE,
            f"The distribution has no config/{name}.",
            "Use a SeaTunnel -bin.tar.gz release; its config/ holds this file.",
        )
    loaded = yaml.safe_load(data) or {}
    if not isinstance(loaded, dict):
        raise InstallerError(errors.BAD_ARCHIVE, f"config/{name} is not a YAML mapping.", "Use a release tarball.")
    return loaded


def _dump(data: dict[str, Any]) -> bytes:
    header = "# Rendered by the SeaTunnel installer from the file the release shipped (docs/INSTALLER.md).\n"
    return (header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)).encode()


def _node(tree: dict[str, Any], *path: str) -> dict[str, Any]:
    for key in path:
        child = tree.get(key)
        if not isinstance(child, dict):
            child = {}
            tree[key] = child
        tree = child
    return tree


def checkpoint_dir(spec: InstallSpec) -> str:
    path = spec.checkpoint_dir or str(Layout(spec.prefix).data / "checkpoint")
    return path if path.endswith("/") else path + "/"  # the namespace must end with / (ZETA_FACTS §4.4)


def seatunnel_yaml(spec: InstallSpec, shipped: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(shipped)
    engine = _node(data, "seatunnel", "engine")
    http = _node(engine, "http")
    http["enable-http"] = True
    http["port"] = spec.http_port
    http["enable-dynamic-port"] = False  # the health check and the control plane need the real port
    if spec.https_port is not None:
        http["enable-https"] = True
        http["https-port"] = spec.https_port
        http["key-store-path"] = spec.key_store
        http["key-store-password"] = spec.key_store_password or ""
        http["key-manager-password"] = spec.key_store_password or ""
    else:
        for key in ("enable-https", "https-port", "key-store-path", "key-store-password", "key-manager-password"):
            http.pop(key, None)
    if spec.basic_auth is not None:
        http["enable-basic-auth"] = True
        http["basic-auth-username"], http["basic-auth-password"] = spec.basic_auth
    else:
        for key in ("enable-basic-auth", "basic-auth-username", "basic-auth-password"):
            http.pop(key, None)
    storage = _node(engine, "checkpoint", "storage")
    storage["type"] = "hdfs"
    plugin = _node(storage, "plugin-config")
    namespace = checkpoint_dir(spec)
    if "://" in namespace:  # s3a://bucket/path/, hdfs://nn/path/: the scheme and authority are fs.defaultFS
        scheme, rest = namespace.split("://", 1)
        authority, _, path = rest.partition("/")
        plugin["namespace"] = "/" + path
        plugin["storage.type"] = {"s3a": "s3", "oss": "oss"}.get(scheme, "hdfs")
        plugin["fs.defaultFS"] = f"{scheme}://{authority}"
    else:
        plugin["namespace"] = namespace
        plugin["storage.type"] = "hdfs"
        plugin["fs.defaultFS"] = "file:///"
    _node(engine, "telemetry", "metric")["enabled"] = spec.telemetry
    return data


def member_list(spec: InstallSpec) -> list[str]:
    if spec.members:
        return [str(m) for m in spec.members]
    return [f"localhost:{spec.hazelcast_port}"]


def hazelcast_yaml(spec: InstallSpec, shipped: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(shipped)
    hazelcast = _node(data, "hazelcast")
    hazelcast["cluster-name"] = spec.cluster_name
    network = _node(hazelcast, "network")
    tcp = _node(network, "join", "tcp-ip")
    tcp["enabled"] = True
    tcp["member-list"] = member_list(spec)
    port = _node(network, "port")
    port["auto-increment"] = False
    port["port"] = spec.hazelcast_port
    return data


def client_yaml(spec: InstallSpec, shipped: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(shipped)
    client = _node(data, "hazelcast-client")
    client["cluster-name"] = spec.cluster_name
    _node(client, "network")["cluster-members"] = member_list(spec)
    return data


def jvm_options(spec: InstallSpec, shipped: bytes) -> bytes:
    if spec.heap is None:
        return shipped
    lines = [line for line in shipped.decode().splitlines() if not line.strip().startswith(("-Xms", "-Xmx"))]
    return ("\n".join([*lines, f"-Xms{spec.heap}", f"-Xmx{spec.heap}"]) + "\n").encode()


def render(spec: InstallSpec, read: Reader) -> dict[str, bytes]:
    """config/<name> -> bytes for every file the installer owns, from the shipped files `read` returns."""
    files: dict[str, bytes] = {}
    files["seatunnel.yaml"] = _dump(seatunnel_yaml(spec, _load(read, "seatunnel.yaml")))
    hz = HAZELCAST_FILE[spec.role]
    files[hz] = _dump(hazelcast_yaml(spec, _load(read, hz)))
    files["hazelcast-client.yaml"] = _dump(client_yaml(spec, _load(read, "hazelcast-client.yaml")))
    jvm = JVM_FILE[spec.role]
    shipped_jvm = read(jvm)
    if shipped_jvm is not None:
        files[jvm] = jvm_options(spec, shipped_jvm)
    return files


def file_mode(name: str, spec: InstallSpec) -> int:
    secret = name == "seatunnel.yaml" and (spec.basic_auth is not None or spec.key_store_password)
    return 0o600 if secret else 0o644


def dist_reader(directory: Path) -> Reader:
    def read(name: str) -> bytes | None:
        try:
            return (directory / name).read_bytes()
        except FileNotFoundError:
            return None

    return read


def run(ctx: Context) -> dict[str, Any]:
    spec, layout = ctx.spec, ctx.layout
    files = render(spec, dist_reader(layout.dist_config(spec.version)))
    config = layout.version_dir(spec.version) / "config"
    changed = []
    for name, data in files.items():
        path = config / name
        if path.exists() and path.read_bytes() == data:
            continue
        fsutil.write_atomic(path, data, mode=file_mode(name, spec))
        changed.append(name)
    layout.logs.mkdir(parents=True, exist_ok=True)
    layout.data.mkdir(parents=True, exist_ok=True)
    if "://" not in checkpoint_dir(spec):
        Path(checkpoint_dir(spec)).mkdir(parents=True, exist_ok=True)
    return {"files": sorted(files), "changed": changed}
