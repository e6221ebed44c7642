"""The pure helpers of the job pages: two config texts side by side, a structural diff as changed paths, and a
refused config's problems placed at their lines."""

from __future__ import annotations

from controlplane.console.config_diff import ADDED, CHANGED, REMOVED, SAME, PathChange, Row, path_changes, side_by_side
from controlplane.console.config_problems import listing, problem_line
from controlplane.seatunnel.config.diff import structural_diff
from controlplane.seatunnel.config.parse import parse_config

OLD = """env { job.mode = "BATCH" }
source { FakeSource { plugin_output = "fake", row.num = 16 } }
sink { Console { plugin_input = "fake" } }
"""
NEW = """env {
  job.mode = "STREAMING"
  checkpoint.interval = 5000
}
source { FakeSource { plugin_output = "fake", row.num = 32 } }
sink { Jdbc { plugin_input = "fake", table = "t" } }
"""


def test_side_by_side_pairs_replaced_lines_and_marks_the_rest_added_or_removed():
    rows = side_by_side("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n")
    assert rows == [
        Row(SAME, 1, "a", 1, "a"),
        Row(CHANGED, 2, "b", 2, "B"),
        Row(SAME, 3, "c", 3, "c"),
        Row(SAME, 4, "d", 4, "d"),
        Row(ADDED, None, "", 5, "e"),
    ]
    assert side_by_side("x\ny\nz\n", "x\nY\n") == [
        Row(SAME, 1, "x", 1, "x"),
        Row(CHANGED, 2, "y", 2, "Y"),
        Row(REMOVED, 3, "z", None, ""),
    ]
    assert side_by_side("", "") == []


def test_path_changes_name_env_keys_and_plugin_options_by_kind_and_index():
    old, new = parse_config(OLD).normalised, parse_config(NEW).normalised
    changes = path_changes(structural_diff(old, new))
    assert PathChange(CHANGED, "env.job.mode", "BATCH", "STREAMING") in changes
    assert PathChange(ADDED, "env.checkpoint.interval", None, 5000) in changes
    assert PathChange(CHANGED, "source[0].row.num", 16, 32) in changes
    # the sink is another plugin: the old one removed, the new one added, each as a whole
    assert PathChange(REMOVED, "sink[0]", "Console", None) in changes
    assert PathChange(ADDED, "sink[0]", None, "Jdbc") in changes
    assert len(changes) == 5
    assert path_changes(structural_diff(old, old)) == []


def test_a_parse_error_sits_at_its_line_and_one_past_the_end_at_the_last_line():
    text = "env {\n  job.mode = = x\n}\n"
    assert problem_line(text, {"code": "JOB_CONFIG_PARSE_ERROR", "path": "", "details": {"line": 2}}) == 2
    assert problem_line(text, {"code": "JOB_CONFIG_PARSE_ERROR", "path": "", "details": {"line": 9}}) == 3


def test_a_validation_problem_is_looked_up_by_its_path():
    text = NEW.replace("Jdbc", "Jdbcc")
    lines = text.splitlines()
    assert problem_line(text, {"path": "env.job.mode", "details": {}}) == 2
    assert problem_line(text, {"path": "env.checkpoint.interval", "details": {}}) == 3
    assert problem_line(text, {"path": "sink[0].Jdbcc", "details": {}}) == len(lines)
    assert problem_line(text, {"path": "source[0].FakeSource.row.num", "details": {}}) == 5
    # a part the text does not have, or a path that is not one
    assert problem_line(text, {"path": "transform", "details": {}}) is None
    assert problem_line(text, {"path": "", "details": {}}) is None


def test_a_nested_key_is_found_by_its_last_part_after_its_plugin():
    text = 'source {\n  FakeSource {\n    schema {\n      fields {\n        age = "int"\n      }\n    }\n  }\n}\n'
    assert problem_line(text, {"path": "source[0].FakeSource.schema->fields->age", "details": {}}) == 5


def test_the_listing_numbers_every_line_and_keeps_the_unplaced_problems_apart():
    problems = [
        {"code": "A", "path": "", "message": "a", "details": {"line": 2}},
        {"code": "B", "path": "sink", "message": "no sink", "details": {}},
    ]
    lines, unplaced = listing("one\ntwo\n", problems)
    assert [(line.number, line.text, [p["code"] for p in line.problems]) for line in lines] == [
        (1, "one", []),
        (2, "two", ["A"]),
    ]
    assert unplaced == [problems[1]]
    assert [line.number for line in listing("", [])[0]] == [1]
