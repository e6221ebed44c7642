"""The fault library as data: every shipped file loads; a malformed file, fingerprint or rule is refused with
FAULT_LIBRARY_INVALID naming the file, the fingerprint and the field; the start-up check reports it."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from controlplane.diagnostics import checks
from controlplane.diagnostics import library as shipped
from controlplane.diagnostics.domain.errors import FaultLibraryInvalid
from controlplane.diagnostics.domain.library import LANGUAGES, load_directory, needle_of, parse_library

GOOD = textwrap.dedent(
    """\
    - id: sample_fault
      title: {en: A sample, zh-Hans: 示例}
      severity: error
      rules:
        - pattern: "Sample failure \\\\d+"
      explanation: {en: Why., zh-Hans: 原因。}
      fix: {en: Do this., zh-Hans: 这样做。}
    """
)


def test_the_shipped_library_loads_with_at_least_the_forty_patterns_of_the_facts():
    library = shipped.fault_library()
    assert len(library) >= 40
    assert len({f.id for f in library.fingerprints}) == len(library)


def test_every_fingerprint_has_english_and_chinese_title_explanation_and_fix():
    han = re.compile(r"[\u4e00-\u9fff]")
    for fingerprint in shipped.fault_library().fingerprints:
        for part in ("title", "explanation", "fix"):
            texts = getattr(fingerprint, part)
            assert set(texts) == set(LANGUAGES), (fingerprint.id, part)
            assert texts["en"].strip() and texts["zh-Hans"].strip(), (fingerprint.id, part)
            assert han.search(texts["zh-Hans"]), f"{fingerprint.id}.{part} zh-Hans has no Chinese: {texts['zh-Hans']}"


def test_the_chinese_texts_use_the_glossarys_terms():
    # ../shared/design/GLOSSARY.md: a job is 任务 (not 作业), a secret 凭证, a workspace 工作空间
    wrong = {"作业": "任务", "秘钥": "凭证", "工作区": "工作空间", "密钥": "凭证"}
    for fingerprint in shipped.fault_library().fingerprints:
        for part in ("title", "explanation", "fix"):
            text = getattr(fingerprint, part)["zh-Hans"]
            for term, right in wrong.items():
                assert term not in text, f"{fingerprint.id}.{part}: {term} (the glossary says {right})"


def test_a_good_file_loads():
    library = parse_library({"sample.yaml": GOOD})
    assert [f.id for f in library.fingerprints] == ["sample_fault"]
    assert library.fingerprints[0].rules[0].pattern.search("Sample failure 42")


def _broken(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


@pytest.mark.parametrize(
    ("text", "fingerprint", "field"),
    [
        (_broken('"Sample failure \\\\d+"', '"Sample (failure"'), "sample_fault", "rules[0].pattern"),
        (_broken("zh-Hans: 示例}", "zh-CN: 示例}"), "sample_fault", "title.zh-CN"),
        (_broken("{en: Why., zh-Hans: 原因。}", "{en: Why.}"), "sample_fault", "explanation.zh-Hans"),
        (_broken("severity: error", "severity: error\n  colour: red"), "sample_fault", "colour"),
        (_broken("severity: error", "severity: fatal"), "sample_fault", "severity"),
        (
            _broken("    - pattern", "    - weight: 2\n      pattern"),
            "sample_fault",
            "rules[0].weight",
        ),
        (_broken("  severity: error\n", ""), "sample_fault", "severity"),
        (_broken('"Sample failure \\\\d+"', '"(a+)+b"'), "sample_fault", "rules[0].pattern"),
        (_broken("- id: sample_fault", "- id: Sample-Fault"), "Sample-Fault", "id"),
        (_broken("  rules:", "  one_click: {kind: shell, type: rm}\n  rules:"), "sample_fault", "one_click.kind"),
        (
            _broken("  rules:", "  conditions: [{metric: heap, op: '~', value: 1}]\n  rules:"),
            "sample_fault",
            "conditions[0].op",
        ),
    ],
)
def test_a_malformed_fingerprint_names_the_file_the_fingerprint_and_the_field(text, fingerprint, field):
    with pytest.raises(FaultLibraryInvalid) as caught:
        parse_library({"broken.yaml": text})
    error = caught.value
    assert error.code == "FAULT_LIBRARY_INVALID"
    assert error.details["file"] == "broken.yaml"
    assert error.details["fingerprint"] == fingerprint
    assert error.details["field"] == field
    assert "broken.yaml" in error.message and field in error.message


def test_a_duplicate_id_across_files_is_refused():
    with pytest.raises(FaultLibraryInvalid) as caught:
        parse_library({"a.yaml": GOOD, "b.yaml": GOOD})
    assert caught.value.details == {"file": "b.yaml", "fingerprint": "sample_fault", "field": "id"}
    assert "also in a.yaml" in caught.value.message


@pytest.mark.parametrize("text", ["- id: [unclosed", "{}", "[]", "just a string"])
def test_a_file_that_is_not_a_list_of_fingerprints_is_refused(text):
    with pytest.raises(FaultLibraryInvalid) as caught:
        parse_library({"odd.yaml": text})
    assert caught.value.details["file"] == "odd.yaml"


def test_the_start_up_check_reports_a_malformed_library(tmp_path: Path, monkeypatch):
    (tmp_path / "bad.yaml").write_text(_broken('"Sample failure \\\\d+"', '"Sample (failure"'), encoding="utf-8")
    monkeypatch.setattr(shipped, "FINGERPRINTS", tmp_path)
    shipped.fault_library.cache_clear()
    try:
        errors = checks.fault_library_check()
    finally:
        shipped.fault_library.cache_clear()
    assert [e.id for e in errors] == ["diagnostics.E001"]
    assert "FAULT_LIBRARY_INVALID" in errors[0].msg and "bad.yaml" in errors[0].msg
    assert "rules[0].pattern" in errors[0].msg


def test_the_start_up_check_passes_on_the_shipped_library():
    assert checks.fault_library_check() == []


def test_a_one_click_fix_must_name_an_allowlisted_action_or_an_operation_type():
    text = _broken("  rules:", "  one_click: {kind: agent_action, type: shell.exec}\n  rules:")
    library = parse_library({"fix.yaml": text})
    problems = checks.one_click_problems(library)
    assert len(problems) == 1 and problems[0][0] == "fix.yaml"
    assert "shell.exec" in problems[0][1] and "sample_fault" in problems[0][1]
    fine = parse_library(
        {"fix.yaml": _broken("  rules:", "  one_click: {kind: operation, type: rolling_restart}\n  rules:")}
    )
    assert checks.one_click_problems(fine) == []


def test_the_shipped_directory_loads_through_the_same_loader():
    assert len(load_directory(shipped.FINGERPRINTS)) == len(shipped.fault_library())


@pytest.mark.parametrize(
    ("pattern", "needle"),
    [
        ("ErrorCode:\\[JDBC-01\\]", "ErrorCode:[JDBC-01]"),
        ("Port \\[\\d+\\] is already in use", "] is already in use"),
        ("a|bcdef", ""),
        ("(?i)checkpoint expired", ""),
        ("(?i:x)checkpoint expired", ""),
        ("ClassNotFoundException: (?![\\w.]*Driver)", "ClassNotFoundException: "),
        ("Job (?:\\S+ )?\\(\\d+\\) end with state FAILED", ") end with state FAILED"),
        ("colou?r failed", "r failed"),
    ],
)
def test_the_needle_is_a_literal_every_match_contains(pattern, needle):
    assert needle_of(pattern) == needle
