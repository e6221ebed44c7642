"""Kubernetes: a Kustomize directory per cluster, rendered from a `Deployment`.

Rendered by Python rather than kept as a static base: the config files, the discovery DNS name (which holds
the namespace) and the heap follow from the same `Deployment` as everything else, and one renderer keeps them
consistent. The result is still plain Kustomize, so `kubectl apply -k DIR` applies it and its knobs are
Kustomize's own: `replicas:` (or `kustomize edit set replicas seatunnel-worker=5`) and `images:`.

Two StatefulSets (masters and workers, stable pod names), one headless Service that every member is
behind for Hazelcast's Kubernetes discovery in DNS mode, as the official chart does (ZETA_FACTS.md §5, §6;
DNS mode needs no API access, so no RBAC), a headless Service per role for the StatefulSets' pod names, a
ClusterIP Service for REST v2 on the masters, and the engine's config from a generated ConfigMap (its hashed
name changes with its content, so a config change rolls the pods).
"""

from __future__ import annotations

import re

from installer.forms import Deployment, FormError, Resources, Role, yamltext
from installer.forms.engine_config import HAZELCAST_FILE, JVM_FILE, KubernetesJoin, config_files

__all__ = [
    "KUSTOMIZATION",
    "discovery_dns",
    "kustomization",
    "object_names",
    "render_kubernetes",
]

KUSTOMIZATION = "kustomization.yaml"
CONTAINER_HOME = "/opt/seatunnel"
CHECKPOINTS = f"{CONTAINER_HOME}/checkpoints"
CONFIG_MAP = "config"  # suffix of the generated ConfigMap's name
# Seconds the pod keeps serving after it is marked terminating, so Services drop it before the JVM stops.
PRESTOP_SECONDS = 10
ROLES = (Role.MASTER, Role.WORKER)


def object_names(d: Deployment) -> dict[str, str]:
    """The names of the objects, by what they are."""
    return {
        "discovery": f"{d.name}-hazelcast",
        "master": f"{d.name}-master",
        "worker": f"{d.name}-worker",
        "rest": f"{d.name}-rest",
        "config": f"{d.name}-{CONFIG_MAP}",
        "master-pdb": f"{d.name}-master",
    }


def discovery_dns(d: Deployment) -> str:
    """The headless Service's DNS name that Hazelcast resolves to find every member."""
    return f"{object_names(d)['discovery']}.{d.namespace}.svc.cluster.local"


def _labels(d: Deployment, role: Role | None = None) -> dict[str, object]:
    labels: dict[str, object] = {"app.kubernetes.io/name": "seatunnel", "app.kubernetes.io/instance": d.name}
    if role is not None:
        labels["app.kubernetes.io/component"] = role.value
    return labels


def _service(name: str, labels: dict[str, object], selector: dict[str, object], ports: list, **spec: object) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {**spec, "selector": selector, "ports": ports},
    }


def _services(d: Deployment) -> list[dict]:
    names = object_names(d)
    hazelcast_port = {"name": "hazelcast", "port": d.master_port, "targetPort": "hazelcast"}
    headless = {"clusterIP": "None", "publishNotReadyAddresses": True}
    return [
        # Every member, ready or not: members must find each other before any of them is ready.
        _service(names["discovery"], _labels(d), _labels(d), [hazelcast_port], **headless),
        _service(names["master"], _labels(d, Role.MASTER), _labels(d, Role.MASTER), [hazelcast_port], **headless),
        _service(names["worker"], _labels(d, Role.WORKER), _labels(d, Role.WORKER), [hazelcast_port], **headless),
        # REST v2 for the control plane and the console: ready masters only.
        _service(
            names["rest"],
            _labels(d, Role.MASTER),
            _labels(d, Role.MASTER),
            [{"name": "http", "port": d.http_port, "targetPort": "http"}],
            type="ClusterIP",
        ),
    ]


def _resources(r: Resources) -> dict[str, object]:
    requests = {"cpu": r.cpu_request, "memory": r.memory_request}
    limits = {k: v for k, v in (("cpu", r.cpu_limit), ("memory", r.memory_limit)) if v is not None}
    return {"requests": requests, "limits": limits} if limits else {"requests": requests}


def _statefulset(d: Deployment, role: Role) -> dict:
    names = object_names(d)
    replicas = d.masters if role is Role.MASTER else d.workers
    resources = d.master_resources if role is Role.MASTER else d.worker_resources
    config_dir = f"{CONTAINER_HOME}/config"
    mounted = ["seatunnel.yaml", HAZELCAST_FILE[role], "hazelcast-client.yaml", JVM_FILE[role]]
    # subPath mounts keep the image's other config files (log4j2, plugin_config) in place.
    mounts: list[dict[str, object]] = [
        {"name": "config", "mountPath": f"{config_dir}/{file}", "subPath": file, "readOnly": True} for file in mounted
    ]
    mounts += [
        {"name": "logs", "mountPath": f"{CONTAINER_HOME}/logs"},
        {"name": "checkpoints", "mountPath": CHECKPOINTS},
    ]
    checkpoints: dict[str, object] = (
        {"name": "checkpoints", "persistentVolumeClaim": {"claimName": d.checkpoint_claim}}
        if d.checkpoint_claim
        else {"name": "checkpoints", "emptyDir": {}}
    )
    http_get = {"path": "/overview", "port": "http"}
    container = {
        "name": "seatunnel",
        "image": d.image_ref,
        "imagePullPolicy": "IfNotPresent",
        # Foreground: the JVM gets SIGTERM (newer scripts exec it) and Hazelcast shuts down gracefully.
        "command": [f"{CONTAINER_HOME}/bin/seatunnel-cluster.sh", "-r", role.value],
        "ports": [
            {"name": "hazelcast", "containerPort": d.master_port},
            {"name": "http", "containerPort": d.http_port},
        ],
        "resources": _resources(resources),
        # Startup: up to 5 minutes for the JVM and the join. Readiness: /overview answers (the node is in a
        # cluster with a master). Liveness: the REST port accepts connections, which does not depend on the
        # other members, so losing the active master never restarts every pod at once.
        "startupProbe": {"httpGet": http_get, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 30},
        "readinessProbe": {"httpGet": http_get, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {
            "tcpSocket": {"port": "http"},
            "periodSeconds": 30,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", f"sleep {PRESTOP_SECONDS}"]}}},
        "securityContext": {"allowPrivilegeEscalation": False},
        "volumeMounts": mounts,
    }
    pod_spec = {
        # Service links would put SEATUNNEL_* variables in the environment, the script's own prefix.
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,  # DNS discovery needs no API access
        "terminationGracePeriodSeconds": d.stop_timeout_seconds + PRESTOP_SECONDS,
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {"matchLabels": _labels(d, role)},
                        },
                    }
                ]
            }
        },
        "containers": [container],
        "volumes": [
            {"name": "config", "configMap": {"name": names["config"]}},
            {"name": "logs", "emptyDir": {}},
            checkpoints,
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": names[role.value], "labels": _labels(d, role)},
        "spec": {
            "serviceName": names[role.value],
            "replicas": replicas,
            # Members join in any order; updates still replace one pod at a time.
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "RollingUpdate"},
            "selector": {"matchLabels": _labels(d, role)},
            "template": {"metadata": {"labels": _labels(d, role)}, "spec": pod_spec},
        },
    }


def _master_budget(d: Deployment) -> dict:
    # One master at a time through voluntary disruptions (drains): the IMap keeps backup-count 1.
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": object_names(d)["master-pdb"], "labels": _labels(d, Role.MASTER)},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": _labels(d, Role.MASTER)}},
    }


def _image_knob(ref: str) -> dict[str, object]:
    """Kustomize's `images:` entry for the image in use, so `kustomize edit set image` finds it."""
    if "@" in ref:
        name, digest = ref.split("@", 1)
        return {"name": name, "digest": digest}
    name, _, tag = ref.rpartition(":")
    if not name or "/" in tag:  # no tag: a registry port is not a tag
        return {"name": ref}
    return {"name": name, "newTag": tag}


def kustomization(d: Deployment, config_names: list[str]) -> dict[str, object]:
    names = object_names(d)
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": d.namespace,
        "resources": ["services.yaml", "master.yaml", "worker.yaml"],
        "configMapGenerator": [{"name": names["config"], "files": [f"config/{n}" for n in config_names]}],
        "images": [_image_knob(d.image_ref)],
        # The replica knob.
        "replicas": [
            {"name": names["master"], "count": d.masters},
            {"name": names["worker"], "count": d.workers},
        ],
    }


_BYTES = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_JVM_BYTES = {"k": 2**10, "m": 2**20, "g": 2**30}


def _quantity_bytes(quantity: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", quantity)
    if match is None or match.group(2) not in _BYTES:
        raise FormError(f"memory {quantity!r} is not a byte quantity like 4Gi")
    return float(match.group(1)) * _BYTES[match.group(2)]


def _check_memory(d: Deployment) -> None:
    """A memory limit below heap plus metaspace gets the pod OOM-killed under load, not at start: refuse it."""
    for role, resources in ((Role.MASTER, d.master_resources), (Role.WORKER, d.worker_resources)):
        if resources.memory_limit is None:
            continue
        jvm = sum(int(size[:-1]) * _JVM_BYTES[size[-1].lower()] for size in (d.heap_of(role), d.max_metaspace))
        if _quantity_bytes(resources.memory_limit) < jvm:
            raise FormError(
                f"{role.value} memory limit {resources.memory_limit} is below heap {d.heap_of(role)} plus "
                f"metaspace {d.max_metaspace}: raise the limit or lower the heap"
            )


def render_kubernetes(d: Deployment) -> dict[str, str]:
    """The Kustomize directory, by path relative to it."""
    _check_memory(d)
    names = object_names(d)
    config = config_files(
        d,
        roles=ROLES,
        join=KubernetesJoin(discovery_dns(d), d.master_port),
        # A client needs one reachable master; it learns the members from it.
        client_masters=[f"{names['master']}.{d.namespace}.svc.cluster.local:{d.master_port}"],
        ports={Role.WORKER: d.master_port},
        checkpoint_dir=CHECKPOINTS,
    )
    header = (
        f"SeaTunnel {d.version}, cluster {d.cluster_name}, namespace {d.namespace}.\n"
        "Written by the SeaTunnel control plane's installer; a re-install overwrites local edits.\n"
        "Apply: kubectl apply -k DIR (the namespace must exist)."
    )
    files = {
        KUSTOMIZATION: yamltext.dump(kustomization(d, list(config)), header=header),
        "services.yaml": yamltext.dump_all(_services(d), header=header),
        "master.yaml": yamltext.dump_all([_statefulset(d, Role.MASTER), _master_budget(d)], header=header),
        "worker.yaml": yamltext.dump_all([_statefulset(d, Role.WORKER)], header=header),
    }
    files.update({f"config/{name}": text for name, text in config.items()})
    return files
