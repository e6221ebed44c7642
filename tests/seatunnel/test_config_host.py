"""Job configs cannot reach the host: no environment in substitutions, no includes (docs/SECURITY.md)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from controlplane.seatunnel.config.errors import JobConfigIncludeForbidden, JobConfigVariableUnresolved
from controlplane.seatunnel.config.hocon import load_hocon
from controlplane.seatunnel.config.parse import parse_config
from controlplane.seatunnel.config.validate import validate
from controlplane.seatunnel.config.variables import render_variables

SECRET = "host-secret-6f1c9a"  # set as the process environment's value of every name the configs below ask for
JOB = 'env {{ job.mode = "BATCH"\n  {line}\n}}\nsource {{ FakeSource {{}} }}\nsink {{ Console {{}} }}\n'


@pytest.fixture(autouse=True)
def host_environment(monkeypatch):
    for name in ("CONTROLPLANE_SECRET_KEY", "HOME", "PATH", "PORT", "env", "LEAK"):
        monkeypatch.setenv(name, SECRET)


@pytest.mark.parametrize(
    "line",
    [
        "secret_key = ${?CONTROLPLANE_SECRET_KEY}",
        "secret_key = ${CONTROLPLANE_SECRET_KEY}",
        "home = ${HOME}",
        'path = "bin:"${PATH}":x"',
        "port = ${?PORT}",
        "nested = ${env.LEAK}",  # a missing path under the key it sits in: pyhocon asks the environment for `env`
    ],
)
def test_a_substitution_never_reads_the_environment(line):
    text = JOB.format(line=line)
    assert SECRET not in json.dumps(load_hocon(text))
    with pytest.raises(JobConfigVariableUnresolved) as info:
        parse_config(text)
    assert info.value.code == "JOB_CONFIG_VARIABLE_UNRESOLVED"
    assert info.value.details["line"] == 2
    assert info.value.details["variable"] in line
    problems = validate(text)
    assert [p.code for p in problems] == ["JOB_CONFIG_VARIABLE_UNRESOLVED"]
    assert SECRET not in json.dumps([p.as_dict() for p in problems])


@pytest.mark.parametrize(
    "text",
    [
        "LEAK = ${LEAK}\nenv { a = ${LEAK} }",  # self-references: pyhocon's fix-up reads the environment
        "LEAK = ${?LEAK}\nenv { a = ${LEAK} }",
        "LEAK { a = ${LEAK} }",
        "env { a = 1, b = ${env} }",
    ],
)
def test_self_references_are_variables_not_the_environment(text):
    data = load_hocon(text)
    assert SECRET not in json.dumps(data)
    assert "${" in json.dumps(data)


def test_a_declared_variable_is_kept_as_a_reference_and_filled_only_from_its_values():
    text = JOB.format(line='secret_key = ${?CONTROLPLANE_SECRET_KEY}\n  url = "jdbc:mysql://"${host}":3306"')
    declared = [{"name": "CONTROLPLANE_SECRET_KEY", "default": "not-the-host"}, {"name": "host"}]
    parsed = parse_config(text, variables=declared)
    assert parsed.normalised["env"]["secret_key"] == "${?CONTROLPLANE_SECRET_KEY}"
    assert parsed.normalised["env"]["url"] == "jdbc:mysql://${host}:3306"
    rendered = render_variables(parsed.normalised, {"CONTROLPLANE_SECRET_KEY": "not-the-host", "host": "db1"})
    assert rendered["env"]["secret_key"] == "not-the-host"
    assert rendered["env"]["url"] == "jdbc:mysql://db1:3306"
    assert SECRET not in json.dumps(rendered)
    with pytest.raises(JobConfigVariableUnresolved):
        render_variables(parsed.normalised, {})  # host has no value
    assert render_variables(parsed.normalised, {"host": "db1"})["env"]["secret_key"] == ""  # `${?x}`: empty


def test_internal_references_and_engine_placeholders_still_work():
    text = (
        'defaults { rows = 16 }\nenv { job.mode = "BATCH", parallelism = ${defaults.rows} }\n'
        "source { FakeSource { row.num = ${defaults.rows} } }\n"
        'sink { Jdbc { table = "${table_name}", query = "${rows:5}" } }\n'
    )
    parsed = parse_config(text)
    assert parsed.normalised["env"]["parallelism"] == 16
    assert parsed.normalised["sink"][0]["options"]["table"] == "${table_name}"
    rendered = render_variables(parsed.normalised, {})
    assert rendered["sink"][0]["options"] == {"table": "${table_name}", "query": "5"}


def test_json_and_yaml_strings_follow_the_same_rule():
    for text, fmt in (
        ('{"env": {"job.mode": "BATCH", "home": "${HOME}"}, "source": [], "sink": []}', "json"),
        ('env:\n  job.mode: BATCH\n  home: "${HOME}"\n', "yaml"),
    ):
        with pytest.raises(JobConfigVariableUnresolved):
            parse_config(text, fmt)


class _Recorder(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        body = b'env { leaked = "from the url" }'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_recorder_sees_a_plain_request(http_server):
    """The server used below really records requests (so an empty record means none was made)."""
    from urllib.request import urlopen

    with urlopen(f"http://127.0.0.1:{http_server.server_port}/probe", timeout=5) as answer:
        assert answer.status == 200
    assert http_server.requests == ["/probe"]


@pytest.mark.parametrize(
    "include",
    [
        'include "{url}"',
        'include url("{url}")',
        'include required(url("{url}"))',
        'INCLUDE "{url}"',
    ],
)
def test_a_url_include_is_refused_before_any_request(http_server, include):
    url = f"http://127.0.0.1:{http_server.server_port}/job.conf"
    text = include.format(url=url) + "\nsource { FakeSource {} }\nsink { Console {} }\n"
    with pytest.raises(JobConfigIncludeForbidden) as info:
        parse_config(text)
    assert info.value.code == "JOB_CONFIG_INCLUDE_FORBIDDEN"
    assert info.value.details["line"] == 1
    assert validate(text)[0].code == "JOB_CONFIG_INCLUDE_FORBIDDEN"
    assert http_server.requests == []


@pytest.mark.parametrize(
    "include",
    [
        'include "{path}"',
        'include file("{path}")',
        'include required(file("{path}"))',
        'include classpath("{name}")',
        'include package("json:{name}")',
        'env {{ job.mode = "BATCH"\n  include "{path}" }}',
        'env {{ job.mode = "BATCH", x = include "{path}" }}',
    ],
)
def test_a_file_include_of_an_existing_file_is_refused(tmp_path, include):
    target = tmp_path / "leak.conf"
    target.write_text(f'leaked = "{SECRET}"\n')
    text = include.format(path=target, name=target.name) + "\nsource { FakeSource {} }\nsink { Console {} }\n"
    with pytest.raises(JobConfigIncludeForbidden):
        load_hocon(text)
    assert all(SECRET not in json.dumps(p.as_dict()) for p in validate(text))


def test_the_word_include_in_strings_comments_and_keys_is_not_an_include():
    text = (
        'env { job.mode = "BATCH", note = "include \\"x\\"", include = true }  # include "y"\n'
        "source { FakeSource {} }\nsink { Console {} }\n"
    )
    assert parse_config(text).normalised["env"] == {"job.mode": "BATCH", "note": 'include "x"', "include": True}
