"""The matcher over real texts: each fingerprint's texts match it first; texts buried in long noisy logs and
nested `Caused by:` still match their root cause; unrelated texts match nothing; pathological input stays fast."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controlplane.diagnostics.domain.matcher import THRESHOLD, classify, match, split_lines
from controlplane.diagnostics.library import fault_library
from tests.diagnostics.texts import BANNER, CLI, ENGINE_LOG_233, SAMPLES, UNRELATED, WITH_METRICS

# REST answers and one-line engine reports are never an exception's message: they are buried as log lines
NOT_EXCEPTIONS = {
    "savepoint_resume_without_job_id",
    "rest_invalid_body",
    "rest_fail_without_message",
    "job_unknown_or_expired",
    "rest_basic_auth_required",
    "rest_v1_disabled",
    "rest_dry_run_rejected",
    "job_failed_generic",
    "checkpoint_after_savepoint_stall",
    "job_pending_for_resources",
    "member_heartbeat_lost",
    "member_port_in_use",
    "hazelcast_config_missing",
}
# A generic report ("the job failed, see its errorMsg") is a match only on its own: in a log it is a line among
# others, below the threshold, and a log that says no more than that has no known fault.
GENERIC = {"job_failed_generic"}
CASES = [(fid, n, text) for fid, texts in SAMPLES.items() for n, text in enumerate(texts)]
BURIED = [case for case in CASES if case[0] not in GENERIC]


def info_lines(count: int, start: int = 0) -> str:
    return "".join(
        f"[92512] 2024-10-23 10:{(start + i) // 60 % 60:02d}:{(start + i) % 60:02d},000 INFO  "
        f"[o.a.s.e.s.TaskExecutionService] [hz.main.seaTunnel.task.thread-{i % 7}] - Task "
        f"TaskGroupLocation{{jobId=925126364582518785, pipelineId=1, taskGroupId={i}}} running, "
        f"Members {{size:2, ver:2}}, checkpoint 12 of pipeline 1 completed\n"
        for i in range(count)
    )


def buried(fid: str, text: str) -> str:
    """The text inside a long noisy log: the banner, INFO lines, a warning, then the client's wrapper with
    nested `Caused by:` whose last one is the text (or, for a log line or REST answer, the text as a line)."""
    head = (
        BANNER
        + info_lines(300)
        + ("2024-10-23 10:05:00,000 WARN  [o.a.h.u.NativeCodeLoader] [main] - Unable to load native-hadoop library\n")
    )
    if fid in NOT_EXCEPTIONS:
        return head + text.rstrip("\n") + "\n" + info_lines(300, 300)
    stack = (
        "2024-10-23 10:05:01,000 ERROR [o.a.s.c.s.SeaTunnel] [main] - Fatal Error, \n"
        "2024-10-23 10:05:01,000 ERROR [o.a.s.c.s.SeaTunnel] [main] - Reason:SeaTunnel job executed failed \n"
        f"{CLI}\n"
        "\tat org.apache.seatunnel.core.starter.seatunnel.command.ClientExecuteCommand.execute"
        "(ClientExecuteCommand.java:213)\n"
        "\tat org.apache.seatunnel.core.starter.SeaTunnel.run(SeaTunnel.java:40)\n"
        "Caused by: java.util.concurrent.CompletionException: java.lang.RuntimeException: pipeline failed\n"
        "\tat java.util.concurrent.CompletableFuture.encodeThrowable(CompletableFuture.java:273)\n"
        "\t... 4 more\n"
        "Caused by: " + text.rstrip("\n") + "\n"
    )
    if "\tat " not in text:
        stack += "\tat org.apache.seatunnel.engine.server.TaskExecutionService.run(TaskExecutionService.java:1)\n"
    return head + stack + "\t... 12 more\n" + info_lines(300, 300)


def _assert_first(found, fid):
    assert found, f"{fid}: no match"
    assert found[0].id == fid, f"{fid}: {[(m.id, m.score) for m in found]}"
    assert all(m.score < found[0].score for m in found[1:]), [(m.id, m.score) for m in found]


def test_every_fingerprint_has_a_real_text_in_the_tests():
    conditioned = {fid for fid, _, _ in WITH_METRICS}
    assert {f.id for f in fault_library().fingerprints} == set(SAMPLES) | conditioned


@pytest.mark.parametrize(("fid", "n", "text"), CASES, ids=[f"{fid}-{n}" for fid, n, _ in CASES])
def test_a_real_text_matches_its_fingerprint_first_and_nothing_outscores_it(fid, n, text):
    found = match(text, fault_library())
    _assert_first(found, fid)
    assert found[0].title == fault_library().get(fid).title["en"]
    assert found[0].evidence and found[0].evidence[0].text


@pytest.mark.parametrize(("fid", "n", "text"), BURIED, ids=[f"{fid}-{n}" for fid, n, _ in BURIED])
def test_the_text_buried_in_a_long_noisy_log_still_matches_its_root_cause(fid, n, text):
    log = buried(fid, text)
    assert len(log.splitlines()) > 600
    _assert_first(match(log, fault_library()), fid)


def test_a_generic_failure_report_in_a_log_is_no_match():
    for text in SAMPLES["job_failed_generic"]:
        assert match(buried("job_failed_generic", text), fault_library()) == []


@pytest.mark.parametrize("fid,text,metrics", WITH_METRICS)
def test_a_metric_condition_decides_between_fingerprints_of_the_same_text(fid, text, metrics):
    _assert_first(match(text, fault_library(), metrics=metrics), fid)
    assert fid not in [m.id for m in match(text, fault_library())]  # without the metrics it does not match
    flipped = {"checkpoint.timeout": 60000.0, "checkpoint.interval": 10000.0}
    assert fid not in [m.id for m in match(text, fault_library(), metrics=flipped)]


@pytest.mark.parametrize("text", [*UNRELATED, BANNER, info_lines(500)])
def test_unrelated_texts_match_nothing(text):
    assert match(text, fault_library()) == []


def test_the_root_cause_outweighs_a_mention_elsewhere():
    # the same missing-driver text as the root cause, or as a wrapper above another root cause
    driver = "java.lang.ClassNotFoundException: org.postgresql.Driver"
    oom = "java.lang.OutOfMemoryError: Metaspace"
    as_root = match(f"java.lang.RuntimeException: x\n\tat a.B.c(B.java:1)\nCaused by: {driver}\n", fault_library())
    as_wrapper = match(
        f"java.lang.RuntimeException: {driver}\n\tat a.B.c(B.java:1)\nCaused by: {oom}\n", fault_library()
    )
    assert as_root[0].id == "jdbc_driver_missing"
    assert as_wrapper[0].id == "metaspace_out_of_memory"
    wrapped = next(m for m in as_wrapper if m.id == "jdbc_driver_missing")
    assert wrapped.score < as_root[0].score
    assert wrapped.evidence[0].place == "wrapper" and as_root[0].evidence[0].place == "root_cause"


def test_a_real_engine_log_with_repeated_traces_matches_once_with_its_lines_as_evidence():
    found = match(ENGINE_LOG_233, fault_library())
    assert [m.id for m in found] == ["checkpoint_expired"]
    evidence = found[0].evidence
    assert [(e.line, e.place) for e in evidence] == [(5, "root_cause"), (2, "info")]  # one entry per line
    assert "timeout checkpoint: 769824035470049281/1/1" in evidence[1].text


def test_a_fault_named_only_in_an_info_line_does_not_match():
    line = "2024-10-23 10:00:00,000 INFO  [o.a.s.Foo] [main] - retrying after java.lang.OutOfMemoryError: Metaspace"
    assert match(line, fault_library()) == []
    error = line.replace(" INFO ", " ERROR")
    assert [m.id for m in match(error, fault_library())] == ["metaspace_out_of_memory"]


def test_several_rules_matched_score_higher_than_one():
    one = match("Communications link failure", fault_library())
    both = match(
        "ErrorCode:[JDBC-04], ErrorDescription:[Connector database failed]\nCommunications link failure",
        fault_library(),
    )
    assert one[0].id == both[0].id == "database_unreachable"
    assert both[0].score > one[0].score >= THRESHOLD
    assert len(both[0].evidence) == 2


def test_the_evidence_is_the_matched_line_with_its_number():
    text = info_lines(3) + SAMPLES["checkpoint_expired"][0]
    best = match(text, fault_library())[0]
    assert best.evidence[0].line == 4
    assert best.evidence[0].text.startswith("org.apache.seatunnel.engine.server.checkpoint.CheckpointException")


def test_titles_come_in_the_language_asked():
    best = match(SAMPLES["heap_out_of_memory"][0], fault_library(), language="zh-Hans")[0]
    assert best.title == "Java 堆内存耗尽"


def test_a_caused_by_without_frames_is_still_the_root():
    lines = classify(
        split_lines("java.lang.RuntimeException: wrapper\nCaused by: java.lang.OutOfMemoryError: Metaspace")
    )
    assert [line.factor for line in lines] == [0.7, 1.0]


PATHOLOGICAL = {
    "one 10 MB line": "a" * 10_000_000,
    "near misses of a bounded repeat": ("the options(" + "x" * 4000 + "\n") * 2500,
    "caused-by storm": "Caused by: java.lang.RuntimeException: x\n\tat a.B(C.java:1)\n" * 160_000,
    "unique error lines": "".join(f"ERROR {i} failure {'y' * 80} with no known text\n" for i in range(100_000)),
    "brackets": ("{[(" * 1300 + "\n") * 2500,
}


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_pathological_ten_megabyte_inputs_finish_quickly(name):
    text = PATHOLOGICAL[name]
    assert len(text) >= 9_000_000
    started = time.perf_counter()
    found = match(text, fault_library())
    elapsed = time.perf_counter() - started
    assert found == []
    assert elapsed < 15, f"{name}: {elapsed:.1f} s"  # about 0.1-3 s on one core; generous for a shared runner


ALPHABET = "\n\t :[](){}.$#'\"-_/0123456789aAtCcusedbyERRORINFOWARNat Caused by: Exception"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=3000) | st.text(max_size=500))
def test_any_text_gives_matches_above_the_threshold_best_first_and_never_raises(text):
    found = match(text, fault_library())
    assert all(m.score >= THRESHOLD for m in found)
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    assert all(e.line >= 1 for m in found for e in m.evidence)
