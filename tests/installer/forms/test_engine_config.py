"""The engine's config files the compose and Kubernetes forms mount (`config_files`), and the YAML writer under
them. (A bare-metal node's files are the core's: installer/steps/configure.py, tests/installer/test_install.py.)"""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from installer.forms import Deployment, Role, yamltext
from installer.forms import engine_config as config


def _hazelcast(text: str) -> dict:
    return yaml.safe_load(text)["hazelcast"]


def _files(d: Deployment, members: tuple[str, ...], masters: tuple[str, ...]) -> dict[str, str]:
    return config.config_files(d, roles=d.roles, join=config.TcpIpJoin(members), client_masters=masters)


def test_single_host_hybrid_joins_itself() -> None:
    d = Deployment(version="2.3.12", cluster_name="prod-etl")
    files = _files(d, ("localhost:5801",), ("localhost:5801",))
    assert sorted(files) == ["hazelcast-client.yaml", "hazelcast.yaml", "jvm_options", "seatunnel.yaml"]
    hazelcast = _hazelcast(files["hazelcast.yaml"])
    assert hazelcast["cluster-name"] == "prod-etl"
    assert hazelcast["network"]["join"]["tcp-ip"]["member-list"] == ["localhost:5801"]
    assert hazelcast["network"]["port"]["port"] == 5801
    client = yaml.safe_load(files["hazelcast-client.yaml"])["hazelcast-client"]
    assert client["cluster-name"] == "prod-etl"  # must match, or the cluster rejects the client
    assert client["network"]["cluster-members"] == ["localhost:5801"]


def test_separated_cluster_lists_every_member_and_clients_list_masters() -> None:
    members = ("10.0.0.1:5801", "10.0.0.2:5801", "10.0.0.3:5802")
    d = Deployment(version="2.3.12", roles=(Role.WORKER,), worker_heap="8g")
    files = _files(d, members, members[:2])
    assert sorted(files) == ["hazelcast-client.yaml", "hazelcast-worker.yaml", "jvm_worker_options", "seatunnel.yaml"]
    worker = _hazelcast(files["hazelcast-worker.yaml"])
    assert worker["network"]["join"]["tcp-ip"]["member-list"] == ["10.0.0.1:5801", "10.0.0.2:5801", "10.0.0.3:5802"]
    assert worker["network"]["port"] == {"auto-increment": False, "port": 5802}
    client = yaml.safe_load(files["hazelcast-client.yaml"])["hazelcast-client"]
    assert client["network"]["cluster-members"] == ["10.0.0.1:5801", "10.0.0.2:5801"]
    assert "-Xmx8g" in files["jvm_worker_options"].splitlines()


def test_master_and_worker_on_one_host_get_two_ports_and_two_rest_configs() -> None:
    d = Deployment(version="2.3.12", roles=(Role.MASTER, Role.WORKER), worker_http_port=8081)
    files = _files(d, ("localhost:5801", "localhost:5802"), ("localhost:5801",))
    assert _hazelcast(files["hazelcast-master.yaml"])["network"]["port"]["port"] == 5801
    assert _hazelcast(files["hazelcast-worker.yaml"])["network"]["port"]["port"] == 5802
    master_rest = yaml.safe_load(files["seatunnel.yaml"])["seatunnel"]["engine"]["http"]
    worker_rest = yaml.safe_load(files[config.WORKER_SEATUNNEL_FILE])["seatunnel"]["engine"]["http"]
    assert (master_rest["port"], worker_rest["port"]) == (8080, 8081)


def test_checkpoints_and_telemetry() -> None:
    d = Deployment(version="2.3.12", prefix="/srv/st", checkpoint_dir="/mnt/nfs/st-checkpoints")
    engine = yaml.safe_load(_files(d, ("localhost:5801",), ("localhost:5801",))["seatunnel.yaml"])["seatunnel"][
        "engine"
    ]
    plugin = engine["checkpoint"]["storage"]["plugin-config"]
    # The namespace ends with '/' (the engine's doc); dotted keys stay flat keys.
    assert plugin == {"namespace": "/mnt/nfs/st-checkpoints/", "storage.type": "hdfs", "fs.defaultFS": "file:///"}
    assert engine["telemetry"]["metric"]["enabled"] is True
    assert engine["http"]["enable-dynamic-port"] is False
    default = Deployment(version="2.3.12", prefix="/srv/st")
    assert default.checkpoints == "/srv/st/data/checkpoints"


def test_jvm_options_one_flag_per_line() -> None:
    text = config.jvm_options(Deployment(version="2.3.12", heap="6g", max_metaspace="512m"), Role.MASTER)
    flags = [line for line in text.splitlines() if not line.startswith("#")]
    assert flags[:2] == ["-Xms6g", "-Xmx6g"]
    assert "-XX:MaxMetaspaceSize=512m" in flags
    assert all(" " not in flag for flag in flags)  # the script appends each line as one argument


# Strings a YAML 1.1 reader would turn into something else unless quoted, plus ordinary ones.
_tricky = st.sampled_from(
    [
        "yes",
        "No",
        "ON",
        "off",
        "true",
        "null",
        "~",
        "3.0.0",
        "0755",
        "1e3",
        "-Xmx2g",
        "a: b",
        "#x",
        "x #y",
        "",
        " ",
        "host:5801",
        "file:///tmp/",
        "*",
        "&a",
        "!tag",
        "@x",
        "%x",
        "`x`",
        "{a}",
        "[a]",
        "a\nb",
        "'",
        '"',
        "é中",
    ]
)
_scalars = st.none() | st.booleans() | st.integers() | _tricky | st.text(max_size=12)
_documents = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_tricky | st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


# No deadline: the suite runs beside other work on two cores, and a slow example is not a wrong one.
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_tricky | st.text(max_size=8), _documents, max_size=5))
def test_yaml_writer_round_trips_through_a_yaml_reader(document: dict) -> None:
    assert yaml.safe_load(yamltext.dump(document)) == (document or {})


def test_yaml_writer_quotes_what_would_change_meaning() -> None:
    text = yamltext.dump({"a": "no", "b": "2.3.12", "c": "plain-name", "d": "host:5801", "e": 5801})
    assert text.splitlines() == ['a: "no"', 'b: "2.3.12"', "c: plain-name", "d: host:5801", "e: 5801"]
