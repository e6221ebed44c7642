"""deploy/grafana/: dashboards that import into Grafana as they are (export format: a `${DS_PROMETHEUS}` input, a
uid, a schema version), whose every PromQL expression parses (promtool) and reads only metrics the control plane
exports (its live /metrics) or the engine does (docs/METRICS.md, from ZETA_FACTS §7). The alerting rules are held
to the same list."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from controlplane.jobs.models import Run, RunTelemetry
from tests.api.world import World, world_for_module
from tests.metrics.promql import PROMETHEUS_OWN, engine_metrics, metric_names
from tests.metrics.scrape import scrape_text
from tests.metrics.tools import DEPLOY, require, run

GRAFANA = DEPLOY / "grafana"
DASHBOARDS = sorted(GRAFANA.glob("*.json"))
DS = "${DS_PROMETHEUS}"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with world_for_module(django_db_blocker) as built:
        yield built


@pytest.fixture
def exported(world: World, db, settings) -> set[str]:  # type: ignore[no-untyped-def]
    """Every family and sample name of the control plane's /metrics, with a running run's progress in it."""
    run_row = Run.unscoped.get(id=world.objects["acme_run_running"])
    RunTelemetry.unscoped.create(
        run_id=run_row.id, tenant_id=run_row.tenant_id, workspace_id=run_row.workspace_id, metrics={}
    )
    names = set()
    for family in text_string_to_metric_families(scrape_text(Client(SERVER_NAME="localhost"))):
        # the names a query can select, whether or not the family has a sample yet
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
    if settings.REDIS_URL:  # exported with the embedded broker only (docs/METRICS.md)
        names.add("controlplane_broker_dead_letters")
    return names


def _panels(dashboard: dict) -> list[dict]:
    panels = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # collapsed rows hold theirs
    return panels


def _expressions(dashboard: dict) -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target."""
    return [
        (f"{dashboard['uid']}/{panel['title']}/{target['refId']}", target["expr"])
        for panel in _panels(dashboard)
        for target in panel.get("targets", [])
    ]


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_three_dashboards_in_grafanas_export_format() -> None:
    assert [p.name for p in DASHBOARDS] == ["controlplane-overview.json", "job-runs.json", "seatunnel-cluster.json"]
    uids = set()
    for path in DASHBOARDS:
        dashboard = _load(path)
        assert dashboard["__inputs"] == [
            {
                "name": "DS_PROMETHEUS",
                "label": "Prometheus",
                "description": dashboard["__inputs"][0]["description"],
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus",
            }
        ]
        assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
        assert dashboard["id"] is None  # an import creates it
        uid = dashboard["uid"]
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", uid) and uid not in uids, uid
        uids.add(uid)
        assert dashboard["title"] and dashboard["panels"]
        ids = [panel["id"] for panel in _panels(dashboard)]
        assert len(ids) == len(set(ids))
        for panel in _panels(dashboard):
            assert panel["datasource"] == {"type": "prometheus", "uid": DS}, (path.name, panel["title"])
            assert panel["targets"], (path.name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"] == {"type": "prometheus", "uid": DS}
                assert target["expr"].strip()
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24 and grid["w"] > 0 and grid["h"] > 0
        for variable in dashboard["templating"]["list"]:
            assert variable["datasource"] == {"type": "prometheus", "uid": DS}


def test_every_expression_parses(tmp_path: Path) -> None:
    """Grafana does not check PromQL at import; promtool does, when the expressions are recording rules."""
    promtool = require("promtool")
    rules = [
        {"record": f"dashboard:expr_{index}", "expr": expr}
        for index, (_, expr) in enumerate(e for path in DASHBOARDS for e in _expressions(_load(path)))
    ]
    assert len(rules) > 30
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    checked = run([promtool, "check", "rules", str(path)])
    assert checked.returncode == 0, checked.stdout + checked.stderr

    path.write_text(yaml.safe_dump({"groups": [{"name": "broken", "rules": [{"record": "x:y", "expr": "sum(("}]}]}))
    assert run([promtool, "check", "rules", str(path)]).returncode != 0  # the check does catch a bad one


def test_every_metric_a_panel_reads_is_exported_by_us_or_the_engine(exported: set[str]) -> None:
    engine = engine_metrics()
    assert {"job_count", "jvm_memory_bytes_used", "node_count"} <= engine
    allowed = exported | engine | PROMETHEUS_OWN
    unknown = []
    used = set()
    for path in DASHBOARDS:
        dashboard = _load(path)
        for where, expr in _expressions(dashboard):
            names = metric_names(expr)
            assert names, (where, expr)  # an expression that reads nothing is a parse of ours gone wrong
            used |= names
            unknown += [f"{where}: {name}" for name in sorted(names - allowed)]
        for variable in dashboard["templating"]["list"]:
            query = variable["query"]["query"]
            match = re.match(r"label_values\((\w+)", query)
            assert match, query
            if match.group(1) not in allowed:
                unknown.append(f"{dashboard['uid']}/${variable['name']}: {match.group(1)}")
    assert unknown == []
    # the dashboards show both sides: ours and the engine's
    assert used & engine and any(name.startswith("controlplane_") for name in used)


def test_the_alerting_rules_read_only_exported_metrics(exported: set[str]) -> None:
    allowed = exported | engine_metrics() | PROMETHEUS_OWN
    recorded: set[str] = set()
    expressions = []
    for path in sorted((DEPLOY / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    recorded.add(rule["record"])
                expressions.append((rule.get("record") or rule["alert"], rule["expr"]))
    unknown = [f"{name}: {metric}" for name, expr in expressions for metric in metric_names(expr) - allowed - recorded]
    assert unknown == []


def test_the_name_reader_finds_metrics_and_nothing_else() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, route) (rate(controlplane_http_request_duration_seconds_bucket"
        '{route=~"api/.*", status!="500"}[5m]))) / on (job) group_left up offset 1h'
        ' and jvm_memory_bytes_used{area="heap"} > bool 0.9 or vector(0)'
    )
    assert metric_names(expr) == {"controlplane_http_request_duration_seconds_bucket", "up", "jvm_memory_bytes_used"}
    assert metric_names("sum(nonexistent_metric) without (instance)") == {"nonexistent_metric"}
