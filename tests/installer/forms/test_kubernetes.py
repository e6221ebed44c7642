"""The Kubernetes form: `kubectl kustomize` renders it, every object validates against the API schemas
(kubernetes-validate, its bundled schemas, strict: unknown fields fail), and the cluster is the one asked for."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from installer.forms import Deployment, FormError, Resources, Role
from installer.forms import kubernetes as form
from tests.installer.forms import tools

# The oldest Kubernetes minor still commonly run; the schemas ship with kubernetes-validate (offline).
K8S_VERSION = "1.30"


def _kustomize(directory: Path) -> list[dict]:
    result = tools.run([tools.require("kubectl"), "kustomize", str(directory)])
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _render(tmp_path: Path, d: Deployment) -> tuple[Path, list[dict]]:
    directory = tools.write_tree(tmp_path / "k8s", form.render_kubernetes(d))
    return directory, _kustomize(directory)


def _by_kind(objects: list[dict]) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


@pytest.fixture
def cluster(tmp_path: Path) -> tuple[Deployment, Path, dict[tuple[str, str], dict]]:
    d = Deployment(
        version="2.3.12",
        masters=2,
        workers=3,
        namespace="etl",
        heap="3g",
        worker_resources=Resources(cpu_request="2", memory_request="8Gi", cpu_limit="4", memory_limit="8Gi"),
        checkpoint_claim="seatunnel-checkpoints",
    )
    directory, objects = _render(tmp_path, d)
    return d, directory, _by_kind(objects)


def test_every_rendered_object_validates(cluster: tuple[Deployment, Path, dict]) -> None:
    _, _, objects = cluster
    kinds = sorted({kind for kind, _ in objects})
    assert kinds == ["ConfigMap", "PodDisruptionBudget", "Service", "StatefulSet"]
    for obj in objects.values():
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        assert obj["metadata"]["namespace"] == "etl"


def test_the_validator_can_fail(cluster: tuple[Deployment, Path, dict]) -> None:
    _, _, objects = cluster
    statefulset = objects[("StatefulSet", "seatunnel-worker")]
    misspelt = {**statefulset, "spec": {**statefulset["spec"], "replica": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, K8S_VERSION, strict=True)
    wrong_type = {**statefulset, "spec": {**statefulset["spec"], "replicas": "three"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, K8S_VERSION, strict=True)


def test_discovery_names_the_headless_service_of_every_member(cluster: tuple[Deployment, Path, dict]) -> None:
    _, _, objects = cluster
    config = next(o for (kind, _), o in objects.items() if kind == "ConfigMap")
    assert config["metadata"]["name"].startswith("seatunnel-config-")  # hashed: a change rolls the pods
    discovery = objects[("Service", "seatunnel-hazelcast")]["spec"]
    assert discovery["clusterIP"] == "None"
    assert discovery["publishNotReadyAddresses"] is True  # members find each other before any is ready
    assert discovery["ports"] == [{"name": "hazelcast", "port": 5801, "targetPort": "hazelcast"}]
    for role in ("master", "worker"):
        hazelcast = yaml.safe_load(config["data"][f"hazelcast-{role}.yaml"])["hazelcast"]
        join = hazelcast["network"]["join"]
        assert join["kubernetes"] == {
            "enabled": True,
            "service-dns": "seatunnel-hazelcast.etl.svc.cluster.local",
            "service-port": 5801,
        }
        assert "tcp-ip" not in join
        assert join["multicast"] == {"enabled": False}
        # The Service selects this role's pods, so DNS answers with them.
        pod_labels = objects[("StatefulSet", f"seatunnel-{role}")]["spec"]["template"]["metadata"]["labels"]
        assert discovery["selector"].items() <= pod_labels.items()
        # The StatefulSet's own headless Service gives the pods stable names.
        governing = objects[("Service", f"seatunnel-{role}")]["spec"]
        assert objects[("StatefulSet", f"seatunnel-{role}")]["spec"]["serviceName"] == f"seatunnel-{role}"
        assert governing["clusterIP"] == "None"
        assert governing["selector"].items() <= pod_labels.items()
        assert governing["selector"]["app.kubernetes.io/component"] == role
    client = yaml.safe_load(config["data"]["hazelcast-client.yaml"])["hazelcast-client"]
    assert client["network"]["cluster-members"] == ["seatunnel-master.etl.svc.cluster.local:5801"]


def test_probes_hit_the_rest_port(cluster: tuple[Deployment, Path, dict]) -> None:
    _, _, objects = cluster
    for role in ("master", "worker"):
        container = objects[("StatefulSet", f"seatunnel-{role}")]["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"hazelcast": 5801, "http": 8080}
        for probe in ("startupProbe", "readinessProbe"):
            assert container[probe]["httpGet"] == {"path": "/overview", "port": "http"}
        assert container["livenessProbe"]["tcpSocket"] == {"port": "http"}
        assert container["command"] == ["/opt/seatunnel/bin/seatunnel-cluster.sh", "-r", role]
    rest = objects[("Service", "seatunnel-rest")]["spec"]
    assert rest["ports"] == [{"name": "http", "port": 8080, "targetPort": "http"}]
    assert rest["selector"]["app.kubernetes.io/component"] == "master"


def test_graceful_shutdown_resources_and_config_mounts(cluster: tuple[Deployment, Path, dict]) -> None:
    _, _, objects = cluster
    config_name = next(name for kind, name in objects if kind == "ConfigMap")
    master = objects[("StatefulSet", "seatunnel-master")]["spec"]["template"]["spec"]
    worker = objects[("StatefulSet", "seatunnel-worker")]["spec"]["template"]["spec"]
    for pod in (master, worker):
        container = pod["containers"][0]
        # The grace period covers the preStop pause and the engine's own stop timeout.
        assert pod["terminationGracePeriodSeconds"] == 120 + form.PRESTOP_SECONDS
        assert container["lifecycle"]["preStop"]["exec"]["command"][-1] == f"sleep {form.PRESTOP_SECONDS}"
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["config"]["configMap"]["name"] == config_name  # kustomize rewrote it to the hashed name
        assert volumes["checkpoints"]["persistentVolumeClaim"] == {"claimName": "seatunnel-checkpoints"}
    assert worker["containers"][0]["resources"] == {
        "requests": {"cpu": "2", "memory": "8Gi"},
        "limits": {"cpu": "4", "memory": "8Gi"},
    }
    mounts = {m["mountPath"]: m.get("subPath") for m in master["containers"][0]["volumeMounts"]}
    assert mounts["/opt/seatunnel/config/hazelcast-master.yaml"] == "hazelcast-master.yaml"
    assert mounts["/opt/seatunnel/config/jvm_master_options"] == "jvm_master_options"
    config = objects[("ConfigMap", config_name)]["data"]
    assert config["jvm_master_options"].splitlines()[1:3] == ["-Xms3g", "-Xmx3g"]
    assert yaml.safe_load(config["seatunnel.yaml"])["seatunnel"]["engine"]["http"]["port"] == 8080


def test_replica_knob(tmp_path: Path) -> None:
    _, objects = _render(tmp_path / "a", Deployment(version="2.3.12", masters=3, workers=0))
    replicas = {name: o["spec"]["replicas"] for (kind, name), o in _by_kind(objects).items() if kind == "StatefulSet"}
    assert replicas == {"seatunnel-master": 3, "seatunnel-worker": 0}
    # The knob an operator turns by hand (or with `kustomize edit set replicas`): the kustomization's count.
    directory, _ = _render(tmp_path / "b", Deployment(version="2.3.12"))
    path = directory / form.KUSTOMIZATION
    document = yaml.safe_load(path.read_text())
    document["replicas"] = [r if r["name"] != "seatunnel-worker" else {**r, "count": 7} for r in document["replicas"]]
    path.write_text(yaml.safe_dump(document))
    statefulsets = {n: o for (k, n), o in _by_kind(_kustomize(directory)).items() if k == "StatefulSet"}
    assert statefulsets["seatunnel-worker"]["spec"]["replicas"] == 7
    assert statefulsets["seatunnel-master"]["spec"]["replicas"] == 2


@pytest.mark.parametrize(
    ("image", "knob"),
    [
        (None, {"name": "apache/seatunnel", "newTag": "2.3.12"}),
        (
            "registry.local:5000/st/seatunnel:2.3.12-site",
            {"name": "registry.local:5000/st/seatunnel", "newTag": "2.3.12-site"},
        ),
        ("registry.local:5000/st/seatunnel", {"name": "registry.local:5000/st/seatunnel"}),
    ],
)
def test_image_knob(tmp_path: Path, image: str | None, knob: dict) -> None:
    d = Deployment(version="2.3.12", image=image)
    directory, objects = _render(tmp_path, d)
    document = yaml.safe_load((directory / form.KUSTOMIZATION).read_text())
    assert document["images"] == [knob]
    statefulset = _by_kind(objects)[("StatefulSet", "seatunnel-master")]
    assert statefulset["spec"]["template"]["spec"]["containers"][0]["image"] == d.image_ref


def test_every_config_file_of_a_role_is_generated() -> None:
    files = form.render_kubernetes(Deployment(version="2.3.12"))
    for role in (Role.MASTER, Role.WORKER):
        for name in ("seatunnel.yaml", "hazelcast-client.yaml", f"hazelcast-{role.value}.yaml"):
            assert f"config/{name}" in files
    assert "config/jvm_worker_options" in files
    assert "config/hazelcast.yaml" not in files  # no hybrid members in a Kubernetes cluster


def test_a_memory_limit_below_the_jvm_is_refused() -> None:
    tight = Resources(memory_request="2Gi", memory_limit="2Gi")
    with pytest.raises(FormError, match="worker memory limit 2Gi is below heap 2g plus metaspace 1g"):
        form.render_kubernetes(Deployment(version="2.3.12", worker_resources=tight))
    # 3g of JVM in 3Gi fits; so does no limit at all.
    form.render_kubernetes(Deployment(version="2.3.12", worker_resources=Resources(memory_limit="3Gi")))
    form.render_kubernetes(
        Deployment(
            version="2.3.12",
            heap="64g",
            master_resources=Resources(memory_limit=None),
            worker_resources=Resources(memory_limit=None),
        )
    )
