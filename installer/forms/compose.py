"""Compose: a master/worker cluster of the official image on one Docker host.

`masters` master services and `workers` worker services, each with a fixed host name that the Hazelcast
member list names (TCP-IP join; ZETA_FACTS.md §5), the engine's config files mounted read-only from the
project directory, a named log volume per service and one checkpoint volume they share (checkpoints must
be on storage every node sees; on one host a named volume is that). Every member listens on the master
port inside its container, as the official image does (each container has its own address).
"""

from __future__ import annotations

from installer.forms import Deployment, Role, yamltext
from installer.forms.engine_config import HAZELCAST_FILE, JVM_FILE, TcpIpJoin, config_files

__all__ = ["COMPOSE_FILE", "CONTAINER_HOME", "compose_document", "render_compose", "service_names"]

COMPOSE_FILE = "docker-compose.yml"
CONTAINER_HOME = "/opt/seatunnel"  # the image's WORKDIR, where the tarball is unpacked
CONTAINER_CHECKPOINTS = f"{CONTAINER_HOME}/checkpoints"
# REST inside a container: the engine's port is the deployment's, published on the host from http_port on.
_HEALTH_START_PERIOD = "90s"  # a JVM plus a Hazelcast join; failures before this do not count


def service_names(d: Deployment) -> dict[Role, list[str]]:
    """The service (and host) names of each role: master-1.., worker-1.."""
    return {
        Role.MASTER: [f"master-{i}" for i in range(1, d.masters + 1)],
        Role.WORKER: [f"worker-{i}" for i in range(1, d.workers + 1)],
    }


def _roles(d: Deployment) -> list[Role]:
    return [Role.MASTER, Role.WORKER] if d.workers else [Role.MASTER]


def _service(d: Deployment, role: Role, name: str, index: int, masters: list[str]) -> dict[str, object]:
    config = f"{CONTAINER_HOME}/config"
    mounts = ["seatunnel.yaml", HAZELCAST_FILE[role], "hazelcast-client.yaml", JVM_FILE[role]]
    service: dict[str, object] = {
        "image": d.image_ref,
        "hostname": name,
        # Foreground, so the JVM gets the stop signal (newer scripts exec it).
        "command": [f"{CONTAINER_HOME}/bin/seatunnel-cluster.sh", "-r", role.value],
        "volumes": [f"./config/{file}:{config}/{file}:ro" for file in mounts]
        + [f"{name}-logs:{CONTAINER_HOME}/logs", f"checkpoints:{CONTAINER_CHECKPOINTS}"],
        "healthcheck": {
            # /overview answers once the node has joined and REST v2 is up (any node forwards to the master).
            "test": ["CMD-SHELL", f"curl -fsS http://localhost:{d.http_port}/overview >/dev/null || exit 1"],
            "interval": "30s",
            "timeout": "5s",
            "retries": 3,
            "start_period": _HEALTH_START_PERIOD,
        },
        "restart": "unless-stopped",
        "stop_signal": "SIGTERM",
        "stop_grace_period": f"{d.stop_timeout_seconds}s",
        "ulimits": {"nofile": {"soft": d.nofile, "hard": d.nofile}},
    }
    if role is Role.MASTER:
        # Each master's REST on the host, from http_port up: the control plane and the console reach it there.
        service["ports"] = [f"{d.http_port + index}:{d.http_port}"]
    else:
        # Masters first (ZETA_FACTS.md §5): a worker starts once every master answers /overview.
        service["depends_on"] = {m: {"condition": "service_healthy"} for m in masters}
    return service


def compose_document(d: Deployment) -> dict[str, object]:
    """The compose file as data (what `render_compose` writes)."""
    names = service_names(d)
    services: dict[str, object] = {}
    for role in _roles(d):
        for index, name in enumerate(names[role]):
            services[name] = _service(d, role, name, index, names[Role.MASTER])
    volumes: dict[str, object] = {f"{name}-logs": {} for name in services}
    volumes["checkpoints"] = {}
    return {"services": services, "volumes": volumes}


def render_compose(d: Deployment) -> dict[str, str]:
    """The compose project directory: `docker-compose.yml` and `config/*`, by path relative to it."""
    names = service_names(d)
    members = [f"{name}:{d.master_port}" for role in _roles(d) for name in names[role]]
    config = config_files(
        d,
        roles=_roles(d),
        join=TcpIpJoin(tuple(members)),
        client_masters=[f"{name}:{d.master_port}" for name in names[Role.MASTER]],
        ports={Role.WORKER: d.master_port},
        checkpoint_dir=CONTAINER_CHECKPOINTS,
    )
    header = (
        f"SeaTunnel {d.version}, cluster {d.cluster_name}: {d.masters} master(s), {d.workers} worker(s).\n"
        "Written by the SeaTunnel control plane's installer; a re-install overwrites local edits.\n"
        "Start: docker compose up -d (from this directory)."
    )
    files = {COMPOSE_FILE: yamltext.dump(compose_document(d), header=header)}
    files.update({f"config/{name}": text for name, text in config.items()})
    return files
