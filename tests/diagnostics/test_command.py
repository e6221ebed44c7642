"""`python manage.py match_fault` as support engineers run it: a real subprocess reading standard input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.diagnostics.test_matcher import buried
from tests.diagnostics.texts import SAMPLES, UNRELATED

ROOT = Path(__file__).resolve().parents[2]


def run(stdin: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "manage.py", "match_fault", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def test_a_noisy_log_prints_its_root_cause_first_as_json():
    log = buried("jdbc_driver_missing", SAMPLES["jdbc_driver_missing"][0])
    done = run(log.encode())
    assert done.returncode == 0, done.stderr.decode()
    found = json.loads(done.stdout)
    assert found[0] == {"id": "jdbc_driver_missing", "title": "JDBC driver class not found", "score": found[0]["score"]}
    assert [set(m) for m in found] == [{"id", "title", "score"}] * len(found)
    assert [m["score"] for m in found] == sorted((m["score"] for m in found), reverse=True)


def test_no_match_prints_an_empty_list_and_exits_zero():
    done = run("\n".join(UNRELATED).encode())
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == []


def test_metrics_and_evidence_options():
    text = SAMPLES["checkpoint_expired"][0].encode()
    done = run(text, "--metric", "checkpoint.timeout=500", "--metric", "checkpoint.interval=10000", "--evidence")
    assert done.returncode == 0, done.stderr.decode()
    found = json.loads(done.stdout)
    assert found[0]["id"] == "checkpoint_timeout_too_small"
    assert "Checkpoint expired before completing" in found[0]["evidence"][0]["text"]


def test_input_that_is_not_text_is_a_coded_error_with_a_non_zero_exit():
    for garbage in (b"\xff\xfe\x00j\x00a\x00v\x00a", b"caf\xe9 failed"):
        done = run(garbage)
        assert done.returncode == 2
        assert b"FAULT_TEXT_UNREADABLE" in done.stderr
        assert done.stdout == b""


def test_a_malformed_metric_is_a_coded_error():
    done = run(b"x", "--metric", "checkpoint.timeout")
    assert done.returncode == 2 and b"FAULT_METRIC_INVALID" in done.stderr
