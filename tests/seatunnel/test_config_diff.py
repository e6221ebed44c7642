"""Diffs between two versions of a job config."""

from __future__ import annotations

from controlplane.seatunnel.config.diff import diff_configs, structural_diff, text_diff
from controlplane.seatunnel.config.parse import parse_config

OLD = """
env { job.mode = "BATCH", parallelism = 1 }
source { FakeSource { plugin_output = "fake", row.num = 16, schema { fields { name = "string" } } } }
transform { Sql { plugin_input = "fake", plugin_output = "t", query = "select * from fake" } }
sink {
  Console { plugin_input = "t" }
  Jdbc { plugin_input = "t", url = "jdbc:mysql://h/db", password = "[[secret:old-pw]]" }
}
"""


def diff(old, new):
    return structural_diff(parse_config(old).normalised, parse_config(new).normalised)


def test_identical_configs_have_an_empty_diff():
    result = diff(OLD, OLD)
    assert result["plugins"] == []
    assert result["unchanged"] == 4
    assert result["env"] == {"added": {}, "removed": {}, "changed": {}}


def test_env_changes():
    new = OLD.replace("parallelism = 1", "checkpoint.interval = 5000").replace('"BATCH"', '"STREAMING"')
    assert diff(OLD, new)["env"] == {
        "added": {"checkpoint.interval": 5000},
        "removed": {"parallelism": 1},
        "changed": {"job.mode": {"old": "BATCH", "new": "STREAMING"}},
    }


def test_changed_options_with_old_and_new_values_and_secret_references_kept():
    new = (
        OLD.replace("row.num = 16", "row.num = 32, parallelism = 2")
        .replace('name = "string"', "")
        .replace("old-pw", "new-pw")
    )
    result = diff(OLD, new)
    by_kind = {(p["kind"], p["plugin"]): p for p in result["plugins"]}
    fake = by_kind[("source", "FakeSource")]
    assert fake["status"] == "changed" and fake["key"] == "source:output:fake"
    assert fake["options"] == {
        # nesting joins with `->`, the engine's path separator; a dotted key stays one key
        "added": {"parallelism": 2, "schema->fields": {}},  # an emptied object is a leaf of its own
        "removed": {"schema->fields->name": "string"},
        "changed": {"row.num": {"old": 16, "new": 32}},
    }
    jdbc = by_kind[("sink", "Jdbc")]
    assert jdbc["options"]["changed"] == {"password": {"old": "[[secret:old-pw]]", "new": "[[secret:new-pw]]"}}
    assert result["unchanged"] == 2


def test_match_by_output_name_survives_reordering_and_plugin_swap():
    new = OLD.replace(
        'source { FakeSource { plugin_output = "fake"',
        'source { Jdbc { plugin_output = "other", query = "q" }\n FakeSource { plugin_output = "fake"',
    )
    result = diff(OLD, new)
    assert [(p["status"], p["kind"], p["plugin"], p["new_index"]) for p in result["plugins"]] == [
        ("added", "source", "Jdbc", 0)
    ]


def test_added_and_removed_plugins_by_kind_plugin_and_position():
    new = OLD.replace('Console { plugin_input = "t" }', "")
    new = new.replace("sink {", 'sink {\n  Assert { plugin_input = "t" }')
    result = diff(OLD, new)
    statuses = sorted((p["status"], p["plugin"]) for p in result["plugins"])
    assert statuses == [("added", "Assert"), ("removed", "Console")]
    removed = next(p for p in result["plugins"] if p["status"] == "removed")
    assert removed["options"]["removed"] == {"plugin_input": "t"} and removed["old_index"] == 0


def test_second_plugin_of_the_same_name_is_matched_by_position():
    old = "env { job.mode = BATCH }\nsource { FakeSource {} }\nsink { Console { a = 1 }\n Console { a = 2 } }"
    new = old.replace("a = 2", "a = 3")
    [change] = diff(old, new)["plugins"]
    assert change["key"] == "sink:console#1" and change["options"]["changed"] == {"a": {"old": 2, "new": 3}}


def test_text_diff_is_unified_and_combined_view():
    new = OLD.replace("row.num = 16", "row.num = 32")
    text = text_diff(OLD, new, old_label="v1", new_label="v2")
    assert text.startswith("--- v1\n+++ v2\n")
    assert "-source { FakeSource" in text and "+source { FakeSource" in text
    both = diff_configs(OLD, parse_config(OLD).normalised, new, parse_config(new).normalised)
    assert both["text"].startswith("--- old")
    assert both["structure"]["plugins"][0]["options"]["changed"] == {"row.num": {"old": 16, "new": 32}}
    assert text_diff(OLD, OLD) == ""
