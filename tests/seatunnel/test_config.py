"""Job configs: parsing, normal form, canonical JSON, validation codes and paths, secret references."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controlplane.seatunnel.catalog import catalog_for
from controlplane.seatunnel.config.errors import JobConfigFormatUnsupported, JobConfigInvalid, JobConfigParseError
from controlplane.seatunnel.config.normal import canonical_json, normalise
from controlplane.seatunnel.config.parse import detect_format, parse_config
from controlplane.seatunnel.config.secrets import SecretUnresolved, render_secrets, secret_references
from controlplane.seatunnel.config.validate import CODES, check, validate

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "seatunnel" / "configs"  # ../shared beside the repository
# example -> (format, engine versions whose catalog must accept it)
EXPECTED = {
    "fakesource_to_console.conf": ("hocon", ["2.3.8", "2.3.12"]),
    "jdbc_mysql_source_and_sink.conf": ("hocon", ["2.3.8", "2.3.12"]),
    "jdbc_mysql_source_and_sink.sql": ("sql", ["2.3.8", "2.3.12"]),
    "mysqlcdc_to_mysql.conf": ("hocon", ["2.3.8", "2.3.12"]),
    "v2.batch.config.template": ("hocon", ["2.3.12"]),
    "v2.streaming.conf.template": ("hocon", ["2.3.8", "2.3.12"]),
}

BASE = """
env { job.mode = "BATCH" }
source { FakeSource { plugin_output = "fake", row.num = 3 } }
sink { Console { plugin_input = "fake" } }
"""


def problems_of(text, **kwargs):
    return [(p.code, p.path) for p in validate(text, **kwargs)]


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="shared example configs not mounted")
def test_the_repository_copy_of_the_fakesource_example_is_the_shared_file():
    copy = Path(__file__).resolve().parents[2] / "controlplane" / "console" / "demo" / "fakesource_to_console.conf"
    assert copy.read_bytes() == (EXAMPLES / "fakesource_to_console.conf").read_bytes()


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="shared example configs not mounted")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_examples_parse_normalise_and_validate(name):
    text = (EXAMPLES / name).read_text()
    fmt, versions = EXPECTED[name]
    parsed = parse_config(text)
    assert parsed.format == fmt
    assert parsed.text == text
    assert parsed.normalised["source"] and parsed.normalised["sink"]
    for version in versions:
        assert validate(parsed, catalog=catalog_for(version)) == [], version
    again = parse_config(parsed.json_text, "json")
    assert again.normalised == parsed.normalised
    assert again.json_text == parsed.json_text


def test_all_examples_are_covered():
    if EXAMPLES.is_dir():
        assert {p.name for p in EXAMPLES.iterdir()} == set(EXPECTED)


def test_hocon_normal_form():
    parsed = parse_config(BASE)
    # Dotted keys stay flat (ZETA_FACTS §3.1: the engine's path separator is `->`, PathParser).
    assert parsed.normalised == {
        "env": {"job.mode": "BATCH"},
        "source": [{"plugin": "FakeSource", "options": {"plugin_output": "fake", "row.num": 3}}],
        "transform": [],
        "sink": [{"plugin": "Console", "options": {"plugin_input": "fake"}}],
    }
    assert json.loads(parsed.json_text) == {
        "env": {"job.mode": "BATCH"},
        "source": [{"plugin_name": "FakeSource", "plugin_output": "fake", "row.num": 3}],
        "transform": [],
        "sink": [{"plugin_name": "Console", "plugin_input": "fake"}],
    }


def test_several_plugins_of_the_same_name_keep_order_and_are_not_merged():
    text = """
    env { job.mode = "BATCH" }
    source {
      FakeSource { plugin_output = "a", row.num = 1 }
      FakeSource { plugin_output = "b", row.num = 2 }
    }
    transform { Sql { plugin_input = "a", plugin_output = "c", query = "select * from a" } }
    sink {
      Console { plugin_input = ["b", "c"] }
      Console { plugin_input = "a" }
    }
    """
    normal = parse_config(text).normalised
    assert [s["options"]["plugin_output"] for s in normal["source"]] == ["a", "b"]
    assert [s["options"]["plugin_input"] for s in normal["sink"]] == [["b", "c"], "a"]
    assert validate(text, catalog=catalog_for("2.3.12")) == []


def test_braces_inside_strings_comments_and_substitutions_do_not_confuse_the_reader():
    text = """
    defaults { rows = 5 }
    env { job.mode = "BATCH" }   # } a comment with a brace
    source {
      // Console { } in a comment
      FakeSource { plugin_output = "x", note = "a } b {", sql = \"\"\"select '{' \"\"\", row.num = ${defaults.rows} }
      "FakeSource" { plugin_output = "y" }
    }
    sink { Console { plugin_input = "x" }, Console { plugin_input = "y" } }
    """
    normal = parse_config(text).normalised
    assert [s["plugin"] for s in normal["source"]] == ["FakeSource", "FakeSource"]
    assert normal["source"][0]["options"]["row.num"] == 5
    assert normal["source"][0]["options"]["note"] == "a } b {"
    assert len(normal["sink"]) == 2
    assert "defaults" not in normal


def test_json_and_yaml_and_hocon_give_the_same_normal_form():
    hocon = parse_config(BASE).normalised
    as_json = json.dumps(
        {
            "env": {"job.mode": "BATCH"},
            "source": [{"plugin_name": "FakeSource", "plugin_output": "fake", "row.num": 3}],
            "sink": [{"plugin_name": "Console", "plugin_input": "fake"}],
        }
    )
    as_yaml = """
env:
  job.mode: BATCH
source:
  - plugin_name: FakeSource
    plugin_output: fake
    row.num: 3
sink:
  - plugin_name: Console
    plugin_input: fake
"""
    assert parse_config(as_json).format == "json"
    assert parse_config(as_yaml).format == "yaml"
    assert parse_config(as_json).normalised == hocon
    assert parse_config(as_yaml).normalised == hocon
    assert parse_config(as_yaml, "yml").normalised == hocon


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ('{"env": {}}', "json"),
        ("{ env { job.mode = BATCH } }", "hocon"),
        ("env {\n job.mode = BATCH\n}\n", "hocon"),
        ("env:\n  job.mode: BATCH\n", "yaml"),
        (
            "/* config\nenv { job.mode = BATCH }\n*/\nCREATE TABLE a WITH ('connector'='FakeSource', 'type'='source');",
            "sql",
        ),
    ],
)
def test_detect_format(text, fmt):
    assert detect_format(text) == fmt


@pytest.mark.parametrize(
    ("text", "fmt", "line", "column"),
    [
        ('env {\n  job.mode = "BATCH"\n  x = {\n', "hocon", 4, 1),
        ('{\n  "env": {"job.mode": "BATCH",}\n}', "json", 2, 31),
        ("env:\n  a: [1, 2\nsource: x\n", "yaml", 3, 7),
    ],
)
def test_parse_errors_carry_line_and_column(text, fmt, line, column):
    with pytest.raises(JobConfigParseError) as info:
        parse_config(text, fmt)
    assert info.value.code == "JOB_CONFIG_PARSE_ERROR"
    assert info.value.details["line"] == line
    assert info.value.details["column"] == column
    assert info.value.details["format"] == fmt


def test_unresolved_hocon_substitution_is_a_parse_error_with_position():
    with pytest.raises(JobConfigParseError) as info:
        parse_config("env { job.mode = ${mode} }\n", "hocon")
    assert info.value.details["line"] == 1
    assert info.value.code == "JOB_CONFIG_VARIABLE_UNRESOLVED"  # a job variable nobody declared, never the host's
    assert info.value.details["variable"] == "mode"


def test_structure_errors_are_parse_errors_with_a_path():
    with pytest.raises(JobConfigParseError) as info:
        parse_config('{"env": {"job.mode": "BATCH"}, "source": [{"row.num": 1}]}')
    assert info.value.details["path"] == "source[0]"
    with pytest.raises(JobConfigParseError) as info:
        parse_config("env { job.mode = BATCH }\nsource { FakeSource = 3 }\n")
    assert info.value.details["path"] == "source.FakeSource"


def test_unknown_format_is_rejected():
    with pytest.raises(JobConfigFormatUnsupported) as info:
        parse_config(BASE, "toml")
    assert info.value.code == "JOB_CONFIG_FORMAT_UNSUPPORTED"


def test_sql_config_is_read_into_the_normal_form():
    text = """/* config
env { job.mode = "BATCH" }
*/
-- a comment; with a semicolon
CREATE TABLE src WITH ('connector' = 'FakeSource', 'type' = 'source', 'row.num' = '5', 'note' = 'it''s; fine');
CREATE TABLE dst WITH ('connector' = 'Console', 'type' = 'sink');
INSERT INTO dst SELECT * FROM src;
"""
    normal = parse_config(text).normalised
    assert normal["source"] == [
        {"plugin": "FakeSource", "options": {"plugin_output": "src", "row.num": "5", "note": "it's; fine"}}
    ]
    assert normal["transform"] == []
    assert normal["sink"] == [{"plugin": "Console", "options": {"plugin_input": "src"}}]
    assert validate(text, catalog=catalog_for("2.3.12")) == []


def test_sql_errors_have_a_line():
    text = "/* config\nenv { job.mode = BATCH }\n*/\n\nDROP TABLE x;\n"
    with pytest.raises(JobConfigParseError) as info:
        parse_config(text, "sql")
    assert info.value.details["line"] == 5
    text = "CREATE TABLE a WITH ('connector'='FakeSource', 'type'='source');\nINSERT INTO nope SELECT * FROM a;"
    assert problems_of(text) == [("JOB_CONFIG_PARSE_ERROR", "")]


# -- validation codes, each with its path ------------------------------------------------------------------------


def test_valid_config_has_no_problems():
    assert validate(BASE, catalog=catalog_for("2.3.12"), secret_exists=lambda name: False) == []


def test_parse_error_problem():
    [problem] = validate("env {", catalog=catalog_for("2.3.12"))
    assert problem.code == "JOB_CONFIG_PARSE_ERROR" and problem.path == "" and problem.details["line"] == 1


def test_env_missing():
    text = "source { FakeSource {} }\nsink { Console {} }\n"
    assert problems_of(text) == [("JOB_CONFIG_ENV_MISSING", "env")]


@pytest.mark.parametrize("mode", ['"MICRO_BATCH"', "1", '""'])
def test_mode_invalid(mode):
    text = f"env {{ job.mode = {mode} }}\nsource {{ FakeSource {{}} }}\nsink {{ Console {{}} }}\n"
    assert problems_of(text) == [("JOB_CONFIG_MODE_INVALID", "env.job.mode")]


def test_mode_missing_in_a_non_empty_env():
    assert problems_of("env { parallelism = 1 }\nsource { FakeSource {} }\nsink { Console {} }") == [
        ("JOB_CONFIG_MODE_INVALID", "env.job.mode")
    ]


def test_mode_is_case_insensitive():
    assert problems_of('env { job.mode = "streaming" }\nsource { FakeSource {} }\nsink { Console {} }') == []


def test_no_source_and_no_sink():
    assert problems_of('env { job.mode = "BATCH" }\ntransform {}\n') == [
        ("JOB_CONFIG_NO_SOURCE", "source"),
        ("JOB_CONFIG_NO_SINK", "sink"),
    ]


def test_plugin_unknown_with_suggestion():
    text = BASE.replace("FakeSource {", "FakeSorce {").replace("Console {", "Consle {")
    problems = validate(text, catalog=catalog_for("2.3.12"))
    assert [(p.code, p.path) for p in problems] == [
        ("JOB_CONFIG_PLUGIN_UNKNOWN", "source[0].FakeSorce"),
        ("JOB_CONFIG_PLUGIN_UNKNOWN", "sink[0].Consle"),
    ]
    assert problems[0].details["suggestions"][0] == "FakeSource"
    assert "Did you mean FakeSource?" in problems[0].message


def test_plugin_known_in_one_version_only():
    text = BASE.replace("sink {", 'transform { Metadata { plugin_input = "fake" } }\nsink {')
    assert problems_of(text, catalog=catalog_for("2.3.12")) == []
    assert problems_of(text, catalog=catalog_for("2.3.8")) == [("JOB_CONFIG_PLUGIN_UNKNOWN", "transform[0].Metadata")]


def test_input_unresolved_new_and_old_keys_and_lists():
    text = """
    env { job.mode = "BATCH" }
    source { FakeSource { result_table_name = "fake" } }
    transform { Sql { source_table_name = "nope", result_table_name = "t", query = "select 1" } }
    sink { Console { plugin_input = ["t", "fake", "missing"] } }
    """
    problems = validate(text)
    assert [(p.code, p.path) for p in problems] == [
        ("JOB_CONFIG_INPUT_UNRESOLVED", "transform[0].Sql.source_table_name"),
        ("JOB_CONFIG_INPUT_UNRESOLVED", "sink[0].Console.plugin_input"),
    ]
    assert problems[1].details == {"table": "missing", "known": ["fake", "t"]}


def test_output_duplicate():
    text = """
    env { job.mode = "BATCH" }
    source {
      FakeSource { plugin_output = "fake" }
      FakeSource { result_table_name = "fake" }
    }
    sink { Console { plugin_input = "fake" } }
    """
    assert problems_of(text) == [("JOB_CONFIG_OUTPUT_DUPLICATE", "source[1].FakeSource.result_table_name")]


def test_table_name_invalid():
    text = (
        'env { job.mode = "BATCH" }\n'
        "source { FakeSource { plugin_output = 3 } }\n"
        "sink { Console { plugin_input = {a = 1} } }"
    )
    assert problems_of(text) == [
        ("JOB_CONFIG_TABLE_NAME_INVALID", "source[0].FakeSource.plugin_output"),
        ("JOB_CONFIG_TABLE_NAME_INVALID", "sink[0].Console.plugin_input"),
    ]


def test_secret_unknown_with_path():
    text = """
    env { job.mode = "BATCH" }
    source { Jdbc { url = "jdbc:mysql://h/db?password=[[secret:url-pw]]", password = "[[secret:db-password]]",
                    query = "select 1" } }
    sink { Console {} }
    """
    known = {"db-password"}
    problems = validate(text, secret_exists=known.__contains__)
    assert [(p.code, p.path, p.details) for p in problems] == [
        ("JOB_CONFIG_SECRET_UNKNOWN", "source[0].Jdbc.url", {"secret": "url-pw"})
    ]


def test_nested_option_paths():
    text = 'env { job.mode = "BATCH" }\nsource { FakeSource { row.num = "[[secret:n]]" } }\nsink { Console {} }'
    assert problems_of(text, secret_exists=lambda name: False) == [
        ("JOB_CONFIG_SECRET_UNKNOWN", "source[0].FakeSource.row.num")
    ]


def test_host_reaching_constructs_are_coded_problems():
    """More in test_config_host.py: the environment and includes never reach a config."""
    unresolved = 'env { job.mode = "BATCH"\n  home = ${HOME} }\nsource { FakeSource {} }\nsink { Console {} }'
    assert problems_of(unresolved) == [("JOB_CONFIG_VARIABLE_UNRESOLVED", "env.home")]
    assert problems_of(unresolved, variables=[{"name": "HOME"}]) == []
    included = 'include file("/etc/hostname")\n' + unresolved.replace("${HOME}", "1")
    assert problems_of(included) == [("JOB_CONFIG_INCLUDE_FORBIDDEN", "")]


def test_every_code_is_tested_here():
    source = Path(__file__).read_text()
    for code in CODES:
        assert source.count(f'"{code}"') >= 1, code


def test_check_raises_with_all_problems():
    with pytest.raises(JobConfigInvalid) as info:
        check('env { job.mode = "NOPE" }\n')
    assert info.value.code == "JOB_CONFIG_INVALID"
    codes = [p["code"] for p in info.value.details["problems"]]
    assert codes == ["JOB_CONFIG_MODE_INVALID", "JOB_CONFIG_NO_SOURCE", "JOB_CONFIG_NO_SINK"]
    assert check(BASE).normalised["sink"][0]["plugin"] == "Console"


# -- secrets --------------------------------------------------------------------------------------------------------


def test_render_secrets_substitutes_without_mutating():
    text = """
    env { job.mode = "BATCH" }
    source { Jdbc { url = "jdbc:mysql://h/db", user = "u", password = "[[secret:db-password]]", query = "q",
                    list = ["[[secret:a]]-x", 1] } }
    sink { Console {} }
    """
    normal = parse_config(text).normalised
    before = json.dumps(normal, sort_keys=True)
    calls = []

    def resolve(names):
        calls.append(names)
        return {"db-password": "s3cr3t", "a": "A"}

    rendered = render_secrets(normal, resolve)
    assert calls == [["a", "db-password"]]
    assert rendered["source"][0]["options"]["password"] == "s3cr3t"
    assert rendered["source"][0]["options"]["list"] == ["A-x", 1]
    assert json.dumps(normal, sort_keys=True) == before
    assert [path for path, _ in secret_references(normal)] == ["source[0].Jdbc.password", "source[0].Jdbc.list[0]"]
    with pytest.raises(SecretUnresolved):
        render_secrets(normal, lambda names: {})


def test_engine_variable_syntax_is_not_a_secret_reference():
    text = (
        'env { job.mode = "BATCH" }\nsource { FakeSource { note = "${secret:x} {{secret:y}}" } }\nsink { Console {} }'
    )
    normal = parse_config(text).normalised
    assert secret_references(normal) == []
    assert render_secrets(normal, lambda names: {}) == normal


# -- round trip and idempotence --------------------------------------------------------------------------------------


def test_round_trip_is_stable():
    first = parse_config(BASE)
    second = parse_config(first.json_text)
    third = parse_config(canonical_json(second.normalised, indent=2))
    assert first.normalised == second.normalised == third.normalised
    assert first.json_text == second.json_text == third.json_text
    assert normalise(first.normalised) == first.normalised


_names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_scalars = st.one_of(st.integers(min_value=-(10**12), max_value=10**12), st.booleans(), st.text(max_size=20), st.none())
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_names, inner, max_size=3)),
    max_leaves=8,
)
_plugins = st.lists(
    st.fixed_dictionaries({"plugin_name": st.sampled_from(["FakeSource", "Console", "Sql", "Jdbc"])}).flatmap(
        lambda head: st.dictionaries(_names, _values, max_size=4).map(lambda opts: {**opts, **head})
    ),
    max_size=3,
)


@settings(max_examples=150, deadline=None)
@given(
    env=st.dictionaries(_names, _values, max_size=4),
    source=_plugins,
    transform=_plugins,
    sink=_plugins,
)
def test_normalising_is_idempotent(env, source, transform, sink):
    raw = {"env": env, "source": source, "transform": transform, "sink": sink}
    once = normalise(raw)
    assert normalise(once) == once
    text = canonical_json(once)
    assert normalise(json.loads(text)) == once
    assert canonical_json(normalise(json.loads(text))) == text
