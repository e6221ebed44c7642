"""Dotted keys are flat (ZETA_FACTS §3.1): SeaTunnel's shaded Typesafe Config splits paths on `->`
(`ConfigParseOptions.PATH_TOKEN_SEPARATOR`, `PathParser.addPathText`), so `checkpoint.interval = 5000` quoted or not
is one key, and the engine reads env settings and map options by those flat names."""

from __future__ import annotations

import json

from controlplane.seatunnel.config.diff import structural_diff
from controlplane.seatunnel.config.normal import option_value
from controlplane.seatunnel.config.parse import parse_config
from controlplane.seatunnel.config.upcast import legacy_form, upcast_normal_form

TEXT = """
env {
  job.mode = "STREAMING"
  checkpoint.interval = 5000
  "job.retry.times" = 2
  read_limit.rows_per_second = 100
}
source {
  Kafka {
    plugin_output = "k"
    topic = "t"
    kafka.config = { client.id = "cp", "max.poll.records" = 500 }
  }
  MySQL-CDC {
    plugin_output = "c"
    debezium { snapshot.mode = "never" }
    schema = { fields { id = int } }
  }
}
sink { Console { plugin_input = ["k", "c"] } }
"""


def test_quoted_and_unquoted_dotted_keys_are_one_key_each_in_the_normal_form_and_the_submitted_json():
    parsed = parse_config(TEXT)
    env = parsed.normalised["env"]
    assert env == {
        "job.mode": "STREAMING",
        "checkpoint.interval": 5000,
        "job.retry.times": 2,
        "read_limit.rows_per_second": 100,
    }
    kafka, cdc = (item["options"] for item in parsed.normalised["source"])
    assert kafka["kafka.config"] == {"client.id": "cp", "max.poll.records": 500}
    assert cdc["debezium"] == {"snapshot.mode": "never"}
    assert cdc["schema"] == {"fields": {"id": "int"}}  # a nested object written nested stays nested
    submitted = json.loads(parsed.json_text)
    assert submitted["env"]["checkpoint.interval"] == 5000 and "checkpoint" not in submitted["env"]
    assert submitted["source"][0]["kafka.config"] == {"client.id": "cp", "max.poll.records": 500}


def test_the_same_key_reads_the_same_from_hocon_json_and_yaml():
    as_json = json.dumps({"env": {"checkpoint.interval": 5000}, "source": [], "sink": []})
    as_yaml = "env:\n  checkpoint.interval: 5000\nsource: []\nsink: []\n"
    as_hocon = "env { checkpoint.interval = 5000 }\nsource {}\nsink {}\n"
    forms = [parse_config(t).normalised["env"] for t in (as_json, as_yaml, as_hocon)]
    assert forms == [{"checkpoint.interval": 5000}] * 3


def test_option_value_reads_like_readonly_config_flat_first_then_nested():
    # ReadonlyConfig.getValue: containsKey(key) first, else split on "." and walk the nested maps.
    assert option_value({"job.mode": "BATCH"}, "job.mode") == "BATCH"
    assert option_value({"job": {"mode": "BATCH"}}, "job.mode") == "BATCH"
    assert option_value({"job": "x"}, "job.mode") is None


def test_a_flat_key_and_the_same_path_nested_differ_in_the_diff():
    flat = parse_config("env { checkpoint.interval = 5000 }\nsource {}\nsink {}").normalised
    nested = parse_config("env { checkpoint { interval = 5000 } }\nsource {}\nsink {}").normalised
    assert flat != nested
    diff = structural_diff(flat, nested)["env"]
    assert diff["removed"] == {"checkpoint.interval": 5000}
    assert diff["added"] == {"checkpoint->interval": 5000}


def test_upcast_with_the_stored_text_is_exact():
    new = parse_config(TEXT).normalised
    old = legacy_form(new)  # what the splitting normalisation stored
    assert old["env"] == {
        "job": {"mode": "STREAMING", "retry": {"times": 2}},
        "checkpoint": {"interval": 5000},
        "read_limit": {"rows_per_second": 100},
    }
    result = upcast_normal_form(old, text=TEXT)
    assert result.exact and result.changed and result.ambiguous == ()
    assert result.normalised == new


def test_upcast_without_text_flattens_env_and_map_options_and_names_what_it_cannot_decide():
    old = legacy_form(parse_config(TEXT).normalised)
    result = upcast_normal_form(old)
    assert not result.exact
    assert result.normalised["env"] == parse_config(TEXT).normalised["env"]
    kafka, cdc = (item["options"] for item in result.normalised["source"])
    assert kafka["kafka.config"] == {"client.id": "cp", "max.poll.records": 500} and "kafka" not in kafka
    assert cdc["debezium"] == {"snapshot.mode": "never"}
    assert cdc["schema"] == {"fields": {"id": "int"}}
    assert result.ambiguous == ("source[1].schema",)


def test_upcast_falls_back_to_the_rules_when_the_text_does_not_give_back_the_stored_form():
    old = legacy_form(parse_config(TEXT).normalised)
    result = upcast_normal_form(old, text=TEXT.replace("5000", "6000"))
    assert not result.exact
    assert result.normalised["env"]["checkpoint.interval"] == 5000


def test_upcast_of_a_form_that_is_already_flat_changes_nothing():
    new = parse_config(TEXT).normalised
    result = upcast_normal_form(new)
    assert not result.changed
    assert result.normalised == new
