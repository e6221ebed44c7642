"""The heartbeat's facts of what a SeaTunnel home has installed (agent/facts.py): the jars of connectors/, with
the artifact and version their names carry, and the jars of lib/; listed again only when a directory changed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from agent import facts
from agent.facts import FactCollector, connector_jar


def collector(home: Path | None, tmp_path: Path) -> FactCollector:
    return FactCollector(
        seatunnel_home=home, engine_url=None, configured_version=None, manager=None, fallback_disk_path=tmp_path
    )


def age(directory: Path, seconds: float = 60.0) -> int:
    """Set the directory's mtime back (out of the racy window); the mtime in ns, to set it again later."""
    when = time.time_ns() - int(seconds * 1e9)
    os.utime(directory, ns=(when, when))
    return when


@pytest.mark.parametrize(
    ("name", "artifact", "version"),
    [
        ("connector-jdbc-2.3.12.jar", "connector-jdbc", "2.3.12"),
        ("connector-cdc-mysql-2.3.12.jar", "connector-cdc-mysql", "2.3.12"),
        ("connector-file-s3-2.3.12-SNAPSHOT.jar", "connector-file-s3", "2.3.12-SNAPSHOT"),
        ("seatunnel-transforms-v2-2.3.12.jar", "seatunnel-transforms-v2", "2.3.12"),
        ("connector-http-base-2.3.8.jar", "connector-http-base", "2.3.8"),
        ("seatunnel-hadoop3-3.1.4-uber-2.3.12-optional.jar", "seatunnel-hadoop3-3.1.4-uber", "2.3.12-optional"),
        ("mysql-connector-j-8.0.33.jar", "mysql-connector-j", "8.0.33"),
        ("my-own-connector.jar", "my-own-connector", None),
        ("connector-kafka-2.JAR", "connector-kafka-2", None),
    ],
)
def test_a_jar_name_gives_its_artifact_and_version(name, artifact, version):
    assert connector_jar(name) == {"file": name, "artifact": artifact, "version": version}


def test_the_heartbeat_lists_the_jars_of_connectors_and_lib(home, tmp_path):
    (home / "connectors" / "connector-jdbc-2.3.12.jar").write_bytes(b"")
    (home / "connectors" / "plugin-mapping.properties").write_text("seatunnel.source.Jdbc = connector-jdbc\n")
    (home / "connectors" / "old").mkdir()  # neither sub-directories nor other files are the engine's jars
    (home / "lib" / "mysql-connector-j-8.0.33.jar").write_bytes(b"")
    (home / "lib" / "seatunnel-hadoop3-3.1.4-uber-2.3.12-optional.jar").write_bytes(b"")
    (home / "lib" / "README.txt").write_text("drivers go here")
    found = collector(home, tmp_path).collect()
    assert found["connector_jars"] == [
        {"file": "connector-console-2.3.12.jar", "artifact": "connector-console", "version": "2.3.12"},
        {"file": "connector-fake-2.3.12.jar", "artifact": "connector-fake", "version": "2.3.12"},
        {"file": "connector-jdbc-2.3.12.jar", "artifact": "connector-jdbc", "version": "2.3.12"},
    ]
    assert found["lib_jars"] == ["mysql-connector-j-8.0.33.jar", "seatunnel-hadoop3-3.1.4-uber-2.3.12-optional.jar"]
    assert found["seatunnel_version"] == "2.3.12"


def test_a_fact_that_cannot_be_read_is_null(home, tmp_path):
    assert {k: collector(None, tmp_path).collect()[k] for k in ("connector_jars", "lib_jars")} == {
        "connector_jars": None,
        "lib_jars": None,
    }
    (home / "lib").rmdir()
    found = collector(home, tmp_path).collect()
    assert found["lib_jars"] is None and len(found["connector_jars"]) == 2
    (home / "connectors").rename(home / "connectors.moved")
    (home / "connectors").write_text("not a directory")
    assert collector(home, tmp_path).collect()["connector_jars"] is None


def test_a_directory_is_listed_again_only_when_its_mtime_changed(home, tmp_path):
    connectors = home / "connectors"
    listed = age(connectors)
    facts_of = collector(home, tmp_path)
    assert [j["artifact"] for j in facts_of.connector_jars() or []] == ["connector-console", "connector-fake"]
    # A jar added with the mtime put back as it was: the collector does not look, so it does not see it.
    (connectors / "connector-jdbc-2.3.12.jar").write_bytes(b"")
    os.utime(connectors, ns=(listed, listed))
    assert [j["artifact"] for j in facts_of.connector_jars() or []] == ["connector-console", "connector-fake"]
    age(connectors, 30)  # a change: listed again
    assert [j["artifact"] for j in facts_of.connector_jars() or []] == [
        "connector-console",
        "connector-fake",
        "connector-jdbc",
    ]


def test_a_directory_changed_within_the_racy_window_is_listed_every_time(home, tmp_path):
    connectors = home / "connectors"
    facts_of = collector(home, tmp_path)
    now = time.time_ns()
    os.utime(connectors, ns=(now, now))
    assert len(facts_of.connector_jars() or []) == 2
    (connectors / "connector-jdbc-2.3.12.jar").write_bytes(b"")
    os.utime(connectors, ns=(now, now))  # the same tick of a coarse clock: the mtime did not move
    assert len(facts_of.connector_jars() or []) == 3


def test_the_listing_is_bounded(home, tmp_path):
    for n in range(facts.MAX_JARS + 20):
        (home / "lib" / f"driver-{n:04d}-1.0.jar").write_bytes(b"")
    names = collector(home, tmp_path).collect()["lib_jars"]
    assert len(names) == facts.MAX_JARS and names[0] == "driver-0000-1.0.jar"
