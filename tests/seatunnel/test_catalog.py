"""Connector catalog: data files, version fallback, case-insensitive lookup, suggestions."""

from __future__ import annotations

import pytest

from controlplane.seatunnel.catalog import catalog_for, known_versions, parse_properties
from controlplane.seatunnel.config.errors import JobCatalogVersionUnknown

BUILT_IN_TRANSFORMS = ("Sql", "FieldMapper", "Filter", "FilterRowKind", "JsonPath", "Replace", "Split", "Copy")


def test_supported_versions():
    assert {"2.3.8", "2.3.12"} <= set(known_versions())


@pytest.mark.parametrize("version", ["2.3.8", "2.3.12"])
def test_catalog_has_the_example_connectors_and_built_in_transforms(version):
    catalog = catalog_for(version)
    assert catalog.version == version
    assert catalog.knows("source", "FakeSource")
    assert catalog.knows("source", "Jdbc") and catalog.knows("sink", "Jdbc")
    assert catalog.knows("source", "MySQL-CDC")
    assert catalog.knows("sink", "Console")
    for name in BUILT_IN_TRANSFORMS:
        assert catalog.knows("transform", name), name
    assert not catalog.knows("sink", "MySQL-CDC")  # CDC is a source only


def test_lookup_is_case_insensitive_and_canonicalises():
    catalog = catalog_for("2.3.8")
    assert catalog.knows("sink", "console")
    assert catalog.canonical("transform", "sql") == "Sql"
    assert catalog.artifact("source", "jdbc") == "connector-jdbc"


def test_newer_version_knows_newer_plugins():
    assert not catalog_for("2.3.8").knows("transform", "Metadata")
    assert catalog_for("2.3.12").knows("transform", "Metadata")
    assert catalog_for("2.3.12").knows("source", "Prometheus")


def test_unknown_patch_falls_back_to_nearest_lower():
    catalog = catalog_for("2.3.10")
    assert catalog.version == "2.3.8"
    assert catalog.requested == "2.3.10"
    assert catalog_for("2.3.13").version == "2.3.12"
    assert catalog_for("2.3.12-SNAPSHOT").version == "2.3.12"


@pytest.mark.parametrize("version", ["2.3.7", "2.2.0", "3.0.0", "banana", ""])
def test_no_catalog_raises_version_unknown(version):
    with pytest.raises(JobCatalogVersionUnknown) as info:
        catalog_for(version)
    assert info.value.code == "JOB_CATALOG_VERSION_UNKNOWN"


def test_suggestions_for_typos():
    catalog = catalog_for("2.3.12")
    assert catalog.suggest("source", "FakeSorce")[0] == "FakeSource"
    assert catalog.suggest("sink", "Consol")[0] == "Console"
    assert catalog.suggest("sink", "zzzzzz") == []


def test_properties_format_ignores_other_engines_and_comments():
    catalog = parse_properties(
        "# c\nflink.source.FakeSource = x\nseatunnel.source.A = connector-a\n\nseatunnel.transform.B = t\n",
        version="1.0.0",
    )
    assert catalog.names("source") == ["A"] and catalog.names("transform") == ["B"] and catalog.names("sink") == []


def test_the_plugins_a_nodes_connector_jars_provide_follow_the_engines_prefix_rule():
    catalog = catalog_for("2.3.12")
    provided = catalog.provided_by(
        [
            "connector-fake-2.3.12.jar",
            "Connector-Jdbc-2.3.12.jar",  # case ignored, as the engine's startsWithIgnoreCase
            "connector-cdc-mysql-2.3.12.jar",
            "connector-cdc-mysql-2.3.8.jar",  # two versions: both listed, the engine loads one of them
            "seatunnel-transforms-v2-2.3.12.jar",
            "connector-kafka-2.3.12.jar.bak",  # not a jar
            "plugin-mapping.properties",
        ]
    )
    assert provided[("source", "FakeSource")] == ["connector-fake-2.3.12.jar"]
    assert provided[("source", "Jdbc")] == provided[("sink", "Jdbc")] == ["Connector-Jdbc-2.3.12.jar"]
    assert provided[("source", "MySQL-CDC")] == ["connector-cdc-mysql-2.3.12.jar", "connector-cdc-mysql-2.3.8.jar"]
    assert provided[("transform", "Sql")] == ["seatunnel-transforms-v2-2.3.12.jar"]
    assert ("sink", "Console") not in provided and ("source", "Kafka") not in provided
    assert ("source", "Postgres-CDC") not in provided  # connector-cdc-postgres: another artifact
