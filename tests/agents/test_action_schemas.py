"""One contract for the action catalog: the control plane and the agent validate params with the same JSON
Schemas (agent/schemas/<type>.json), so they accept and refuse the same params, naming the same field."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from agent import catalog as agent_catalog
from agent import schemas
from controlplane.agents.domain import catalog as cp_catalog
from controlplane.errors import DomainError

SCHEMA_DIR = Path(schemas.__file__).parent
LOCAL = "http://127.0.0.1:5801/hazelcast/rest/maps/overview"


def cp_verdict(action_type, params):
    """None if the control plane would queue it, else (code, field)."""
    try:
        cp_catalog.check_params(action_type, params)
    except DomainError as error:
        return error.code, error.details.get("field")
    return None


def agent_verdict(action_type, params):
    """None if the agent's schema check passes, else (code, field) in the control plane's field spelling."""
    try:
        agent_catalog.SCHEMAS[action_type].validate(params, local_hosts=frozenset())
    except agent_catalog.ParamsInvalid as error:
        return "AGENT_PARAMS_INVALID", "params" if error.field is None else f"params.{error.field}"
    return None


def test_every_catalog_type_has_exactly_one_schema_file_and_both_sides_know_the_same_types():
    files = sorted(path.name.removesuffix(".json") for path in SCHEMA_DIR.glob("*.json"))
    assert files == sorted(cp_catalog.ACTION_TYPES) == sorted(agent_catalog.SCHEMAS) == list(schemas.types())
    assert agent_catalog.READ_ONLY_TYPES <= set(files)
    for name in files:
        schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["title"] == name and schema["type"] == "object" and schema["additionalProperties"] is False


def test_no_second_copy_of_the_limits():
    # The hand-written validators are gone: neither side defines its own parameter table.
    cp_source = Path(cp_catalog.__file__).read_text()
    agent_source = Path(agent_catalog.__file__).read_text()
    for source in (cp_source, agent_source):
        assert "maximum=" not in source and "max_length" not in source and "5000" not in source


CASES = [
    # (type, params, field refused or None when accepted)
    ("service.status", {}, None),
    ("service.status", {"x": 1}, "params.x"),
    ("service.status", [], "params"),
    ("service.status", "nope", "params"),
    ("service.restart", {"timeout_seconds": 1}, None),
    ("service.restart", {"timeout_seconds": 3600}, None),
    ("service.restart", {"timeout_seconds": 0}, "params.timeout_seconds"),
    ("service.restart", {"timeout_seconds": 3601}, "params.timeout_seconds"),
    ("service.restart", {"timeout_seconds": 10.0}, "params.timeout_seconds"),
    ("service.restart", {"timeout_seconds": True}, "params.timeout_seconds"),
    ("service.restart", {"timeout_seconds": None}, "params.timeout_seconds"),
    ("worker.start", {"timeout_seconds": "60"}, "params.timeout_seconds"),
    # log.tail file length: the control plane allowed 300, the agent 255; now 255 on both sides.
    ("log.tail", {"file": "a" * 255}, None),
    ("log.tail", {"file": "a" * 256}, "params.file"),
    ("log.tail", {"file": "a" * 300}, "params.file"),
    ("log.tail", {"file": "seatunnel-engine-server.log", "lines": 5000}, None),
    ("log.tail", {"file": "job/1234/x.log"}, None),
    ("log.tail", {"file": "a..b.log"}, None),
    ("log.tail", {}, "params.file"),
    ("log.tail", {"lines": 10}, "params.file"),
    ("log.tail", {"file": "a.log", "lines": 5001}, "params.lines"),
    ("log.tail", {"file": "a.log", "lines": 0}, "params.lines"),
    ("log.tail", {"file": "a.log", "lines": True}, "params.lines"),
    ("log.tail", {"file": "a.log", "command": "cat"}, "params.command"),
    ("log.tail", {"file": "/etc/passwd"}, "params.file"),
    ("log.tail", {"file": "../config/seatunnel.yaml"}, "params.file"),
    ("log.tail", {"file": "a/../../x"}, "params.file"),
    ("log.tail", {"file": "./a.log"}, "params.file"),
    ("log.tail", {"file": "a//b"}, "params.file"),
    ("log.tail", {"file": "a/"}, "params.file"),
    ("log.tail", {"file": "a\\..\\b"}, "params.file"),
    ("log.tail", {"file": "a\x00b"}, "params.file"),
    ("log.tail", {"file": 7}, "params.file"),
    # health.check url length: the control plane allowed 300, the agent 2048; now 2048 on both sides.
    ("health.check", {}, None),
    ("health.check", {"url": LOCAL}, None),
    ("health.check", {"url": "http://localhost:5801/" + "a" * 300}, None),
    ("health.check", {"url": "http://localhost/" + "a" * (2048 - len("http://localhost/"))}, None),
    ("health.check", {"url": "http://localhost/" + "a" * (2049 - len("http://localhost/"))}, "params.url"),
    ("health.check", {"url": "file:///etc/passwd"}, "params.url"),
    ("health.check", {"url": "http://"}, "params.url"),
    ("health.check", {"url": "http://localhost/a b"}, "params.url"),
    ("snapshot.version_config", {"x": None}, "params.x"),
    ("diagnostics.collect", {}, None),
    ("diagnostics.collect", {"since_minutes": 10080, "include_thread_dump": False}, None),
    ("diagnostics.collect", {"since_minutes": 10081}, "params.since_minutes"),
    ("diagnostics.collect", {"include_thread_dump": 1}, "params.include_thread_dump"),
    ("plugin.install", {"name": "connector-jdbc-2.3.12.jar", "sha256": "0" * 64, "size": 1}, None),
    ("plugin.install", {"name": "x.jar", "sha256": "0" * 64, "size": 2**31}, None),
    ("plugin.install", {"name": "x.jar", "sha256": "0" * 64, "size": 2**31 + 1}, "params.size"),
    ("plugin.install", {"name": "x.jar", "sha256": "0" * 64}, "params.size"),
    ("plugin.install", {"name": "../x.jar", "sha256": "0" * 64, "size": 1}, "params.name"),
    ("plugin.install", {"name": "x.zip", "sha256": "0" * 64, "size": 1}, "params.name"),
    ("plugin.install", {"name": "a" * 197 + ".jar", "sha256": "0" * 64, "size": 1}, "params.name"),
    ("plugin.install", {"name": "x.jar", "sha256": "A" * 64, "size": 1}, "params.sha256"),
    ("plugin.install", {"name": "x.jar", "sha256": "0" * 65, "size": 1}, "params.sha256"),
]


@pytest.mark.parametrize(("action_type", "params", "field"), CASES)
def test_the_control_plane_and_the_agent_refuse_the_same_params(action_type, params, field):
    expected = None if field is None else ("AGENT_PARAMS_INVALID", field)
    assert cp_verdict(action_type, params) == expected
    assert agent_verdict(action_type, params) == expected


def test_a_refusal_names_the_field_and_why():
    with pytest.raises(DomainError) as refused:
        cp_catalog.check_params("log.tail", {"file": "a.log", "lines": 5001})
    assert refused.value.code == "AGENT_PARAMS_INVALID"
    assert refused.value.details == {"field": "params.lines"}
    assert refused.value.message == "lines must be at most 5000"


def test_an_unknown_type_is_its_own_code():
    with pytest.raises(DomainError) as refused:
        cp_catalog.check_params("shell.exec", {"command": "id"})
    assert (refused.value.code, refused.value.details) == ("AGENT_ACTION_TYPE_UNKNOWN", {"field": "type"})


def test_the_agent_fills_defaults_from_the_schema_and_the_control_plane_sends_params_as_given():
    assert cp_catalog.check_params("log.tail", {"file": "a.log"}) == {"file": "a.log"}
    filled = agent_catalog.SCHEMAS["log.tail"].validate({"file": "a.log"})
    assert filled == {"file": "a.log", "lines": 200}
    assert agent_catalog.SCHEMAS["diagnostics.collect"].validate({}) == {
        "since_minutes": 60,
        "include_thread_dump": True,
    }


def test_node_policy_is_the_agents_only():
    # The url host and the local limits are the node's policy on top of the shared schema (docs/AGENT_PROTOCOL.md).
    remote = {"url": "http://169.254.169.254/latest/meta-data"}
    assert cp_verdict("health.check", remote) is None
    assert agent_verdict("health.check", remote) == ("AGENT_PARAMS_INVALID", "params.url")
    with pytest.raises(agent_catalog.ParamsInvalid, match="at most 500"):
        agent_catalog.SCHEMAS["log.tail"].validate({"file": "a.log", "lines": 600}, limits={"lines": 500})
