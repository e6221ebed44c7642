"""The engine's own configuration files, as every form mounts or writes them.

`seatunnel.yaml`, the Hazelcast member files of each role, `hazelcast-client.yaml` and the JVM option
files, rendered from a `Deployment` and a join method. The values follow the shipped configuration
(ZETA_FACTS.md §4.4 to §4.6) except where a deployment needs otherwise: telemetry on, checkpoints under the
deployment's checkpoint directory, multicast off, a graceful Hazelcast shutdown hook.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from installer.forms import Deployment, Role, yamltext

__all__ = [
    "KubernetesJoin",
    "TcpIpJoin",
    "config_files",
    "hazelcast_client_yaml",
    "hazelcast_yaml",
    "jvm_options",
    "seatunnel_yaml",
]

HEADER = "Written by the SeaTunnel control plane's installer; a re-install overwrites local edits."

# Shipped Hazelcast properties (hazelcast.yaml of the distribution), plus the graceful shutdown hook the
# official Kubernetes chart sets so a SIGTERM hands partitions over before the member leaves.
_HAZELCAST_PROPERTIES: dict[str, object] = {
    "hazelcast.invocation.max.retry.count": 20,
    "hazelcast.tcp.join.port.try.count": 30,
    "hazelcast.logging.type": "log4j2",
    "hazelcast.operation.generic.thread.count": 50,
    "hazelcast.heartbeat.failuredetector.type": "phi-accrual",
    "hazelcast.heartbeat.interval.seconds": 2,
    "hazelcast.max.no.heartbeat.seconds": 180,
    "hazelcast.heartbeat.phiaccrual.failuredetector.threshold": 10,
    "hazelcast.heartbeat.phiaccrual.failuredetector.sample.size": 200,
    "hazelcast.heartbeat.phiaccrual.failuredetector.min.std.dev.millis": 100,
    "hazelcast.shutdownhook.policy": "GRACEFUL",
}


@dataclass(frozen=True)
class TcpIpJoin:
    """Hazelcast TCP-IP join: every member lists every member (host:port)."""

    members: tuple[str, ...]


@dataclass(frozen=True)
class KubernetesJoin:
    """Hazelcast Kubernetes discovery in DNS mode: the members are the addresses of a headless Service."""

    service_dns: str
    service_port: int


def _join(join: TcpIpJoin | KubernetesJoin) -> dict[str, object]:
    # Multicast is off explicitly: Hazelcast refuses two enabled join methods, and multicast never
    # crosses the networks a cluster spans.
    if isinstance(join, TcpIpJoin):
        return {
            "multicast": {"enabled": False},
            "tcp-ip": {"enabled": True, "member-list": list(join.members)},
        }
    return {
        "multicast": {"enabled": False},
        "kubernetes": {"enabled": True, "service-dns": join.service_dns, "service-port": join.service_port},
    }


def hazelcast_yaml(d: Deployment, *, port: int, join: TcpIpJoin | KubernetesJoin) -> str:
    """`hazelcast.yaml` / `hazelcast-master.yaml` / `hazelcast-worker.yaml` (the same keys; the engine
    makes a worker a lite member from its `-r worker` flag, not from this file)."""
    doc = {
        "hazelcast": {
            "cluster-name": d.cluster_name,
            "network": {
                "join": _join(join),
                "port": {"auto-increment": False, "port": port},
            },
            "properties": _HAZELCAST_PROPERTIES,
        }
    }
    return yamltext.dump(doc, header=HEADER)


def hazelcast_client_yaml(d: Deployment, *, masters: Sequence[str]) -> str:
    """The client's file (`seatunnel.sh`): clients list masters only (ZETA_FACTS.md §5)."""
    doc = {
        "hazelcast-client": {
            "cluster-name": d.cluster_name,
            "properties": {"hazelcast.logging.type": "log4j2"},
            "connection-strategy": {"connection-retry": {"cluster-connect-timeout-millis": 3000}},
            "network": {"cluster-members": list(masters)},
        }
    }
    return yamltext.dump(doc, header=HEADER)


def seatunnel_yaml(d: Deployment, *, http_port: int, checkpoint_dir: str) -> str:
    """`seatunnel.yaml`: the shipped engine settings, REST v2 on `http_port`, telemetry on, file checkpoints
    under `checkpoint_dir` (a shared file system when the cluster has more than one node)."""
    doc = {
        "seatunnel": {
            "engine": {
                "classloader-cache-mode": True,
                "history-job-expire-minutes": 1440,
                "backup-count": 1,
                "queue-type": "blockingqueue",
                "print-execution-info-interval": 60,
                "print-job-metrics-info-interval": 60,
                "slot-service": {"dynamic-slot": True},
                "checkpoint": {
                    "interval": 10000,
                    "timeout": 60000,
                    "storage": {
                        "type": "hdfs",
                        "max-retained": 3,
                        # The namespace must end with '/' (the engine's doc); `hdfs` over file:/// is how
                        # the engine stores checkpoints on a local or mounted file system.
                        "plugin-config": {
                            "namespace": checkpoint_dir.rstrip("/") + "/",
                            "storage.type": "hdfs",
                            "fs.defaultFS": "file:///",
                        },
                    },
                },
                "telemetry": {"metric": {"enabled": True}},
                # Dynamic port stays off: a health check and a client must know the port.
                "http": {"enable-http": True, "port": http_port, "enable-dynamic-port": False},
            }
        }
    }
    return yamltext.dump(doc, header=HEADER)


def jvm_options(d: Deployment, role: Role) -> str:
    """One of `jvm_options` (hybrid), `jvm_master_options`, `jvm_worker_options`: the script reads one flag per
    line after JAVA_OPTS, so the heap belongs here, not in the environment (a later -Xmx wins)."""
    heap = d.heap_of(role)
    dump = "zeta-worker" if role is Role.WORKER else "zeta-server"
    flags = [
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+HeapDumpOnOutOfMemoryError",
        f"-XX:HeapDumpPath=/tmp/seatunnel/dump/{dump}",
        f"-XX:MaxMetaspaceSize={d.max_metaspace}",
        "-XX:+UseG1GC",
    ]
    return f"# {HEADER}\n" + "".join(f"{flag}\n" for flag in flags)


JVM_FILE = {Role.HYBRID: "jvm_options", Role.MASTER: "jvm_master_options", Role.WORKER: "jvm_worker_options"}
HAZELCAST_FILE = {
    Role.HYBRID: "hazelcast.yaml",
    Role.MASTER: "hazelcast-master.yaml",
    Role.WORKER: "hazelcast-worker.yaml",
}


def config_files(
    d: Deployment,
    *,
    roles: Sequence[Role],
    join: TcpIpJoin | KubernetesJoin,
    client_masters: Sequence[str],
    ports: dict[Role, int] | None = None,
    checkpoint_dir: str | None = None,
) -> dict[str, str]:
    """Every file of `config/` that the given roles read, by file name. `ports` overrides the member port of a
    role (containers give every role the master port: each has its own address)."""
    ports = ports or {}
    files = {
        "seatunnel.yaml": seatunnel_yaml(d, http_port=d.http_port, checkpoint_dir=checkpoint_dir or d.checkpoints),
        "hazelcast-client.yaml": hazelcast_client_yaml(d, masters=client_masters),
    }
    for role in roles:
        port = ports.get(role, d.member_port(role))
        files[HAZELCAST_FILE[role]] = hazelcast_yaml(d, port=port, join=join)
        files[JVM_FILE[role]] = jvm_options(d, role)
    if Role.WORKER in roles and d.worker_http_port not in (None, d.http_port):
        assert d.worker_http_port is not None
        files[WORKER_SEATUNNEL_FILE] = seatunnel_yaml(
            d, http_port=d.worker_http_port, checkpoint_dir=checkpoint_dir or d.checkpoints
        )
    return files


# A worker's own seatunnel.yaml when it shares a host with a master (its unit points SEATUNNEL_CONFIG at it).
WORKER_SEATUNNEL_FILE = "seatunnel-worker.yaml"
