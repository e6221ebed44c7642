"""deploy/prometheus/ through the real tools: `promtool check rules`, `promtool test rules` (the unit tests of every
alert), `promtool check config` with targets the control plane wrote, `amtool check-config`; and copies with a
planted fault, which the same commands must refuse."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.api.world import build_world
from tests.metrics.tools import DEPLOY, require, run

PROMETHEUS = DEPLOY / "prometheus"
RULES = sorted((PROMETHEUS / "rules").glob("*.yml"))
UNIT_TESTS = sorted((PROMETHEUS / "tests").glob("*.test.yml"))


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "prometheus"
    shutil.copytree(PROMETHEUS, copy)
    return copy


def test_the_rules_are_valid_and_their_unit_tests_pass() -> None:
    promtool = require("promtool")
    assert len(RULES) == 2 and len(UNIT_TESTS) == 2
    checked = run([promtool, "check", "rules", *map(str, RULES)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = run([promtool, "test", "rules", *map(str, UNIT_TESTS)], cwd=PROMETHEUS)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.count("SUCCESS") == len(UNIT_TESTS)


def test_every_alert_of_the_issue_has_a_unit_test() -> None:
    tested = "\n".join(path.read_text() for path in UNIT_TESTS)
    rules = "\n".join(path.read_text() for path in RULES)
    for alert in (
        "ControlPlaneDown",
        "AgentLost",
        "RunFailed",
        "StreamingJobNoRecords",
        "SeaTunnelCheckpointStuck",
        "SeaTunnelHeapNearLimit",
        "NotificationFailures",
    ):
        assert f"alert: {alert}\n" in rules, alert
        assert f"alertname: {alert}\n" in tested, alert


def test_a_rule_that_does_not_parse_is_refused(tmp_path: Path) -> None:
    promtool = require("promtool")
    copy = _copy(tmp_path)
    rules = copy / "rules" / "seatunnel.rules.yml"
    rules.write_text(rules.read_text().replace("seatunnel:heap_used:ratio > 0.9", "seatunnel:heap_used:ratio > > 0.9"))
    checked = run([promtool, "check", "rules", str(rules)])
    assert checked.returncode != 0
    assert "parse error" in (checked.stdout + checked.stderr)


def test_a_rule_that_changed_meaning_fails_its_unit_test(tmp_path: Path) -> None:
    promtool = require("promtool")
    copy = _copy(tmp_path)
    rules = copy / "rules" / "controlplane.rules.yml"
    text = rules.read_text()
    assert 'controlplane:agents:max{status="lost"} > 0' in text
    rules.write_text(
        text.replace('controlplane:agents:max{status="lost"} > 0', 'controlplane:agents:max{status="lost"} > 1')
    )
    assert run([promtool, "check", "rules", str(rules)]).returncode == 0  # still valid...
    tested = run([promtool, "test", "rules", "tests/controlplane.test.yml"], cwd=copy)
    assert tested.returncode != 0  # ...but AgentLost no longer fires when an agent is lost
    assert "alertname: AgentLost" in tested.stdout + tested.stderr


@pytest.mark.django_db
def test_the_config_is_valid_with_the_targets_the_control_plane_writes(tmp_path: Path) -> None:
    promtool = require("promtool")
    build_world()  # two tenants' clusters and agents, registered through the writers
    copy = _copy(tmp_path)
    (copy / "controlplane-metrics-token").write_text("token-0123456789abcdef\n")
    call_command("prometheus_targets", out=copy / "seatunnel", stdout=io.StringIO())
    checked = run([promtool, "check", "config", str(copy / "prometheus.yml")])
    output = checked.stdout + checked.stderr
    assert checked.returncode == 0, output
    assert "SUCCESS: 2 rule files found" in output and "does not exist" not in output

    # a target file Prometheus could not read makes the same check fail
    (copy / "seatunnel" / "seatunnel-engines.json").write_text('[{"targets": "not a list"}]')
    assert run([promtool, "check", "config", str(copy / "prometheus.yml")]).returncode != 0


def test_the_alertmanager_example_is_valid(tmp_path: Path) -> None:
    amtool = require("amtool")
    checked = run([amtool, "check-config", str(PROMETHEUS / "alertmanager.yml")])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = tmp_path / "alertmanager.yml"
    broken.write_text((PROMETHEUS / "alertmanager.yml").read_text().replace("receiver: pager", "receiver: nobody"))
    assert run([amtool, "check-config", str(broken)]).returncode != 0
