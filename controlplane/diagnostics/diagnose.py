"""The ``diagnose`` operation (docs/DIAGNOSTICS.md, "Diagnose"): on a cluster, one node or one run.

Steps: ``diagnostics.collect`` on every node's agent (in batches; a node that gives no bundle is named in the
manifest, the others go on), then ``engine`` (the control plane asks the engine's REST API: overview, members, the
run's job info, the log files list and the relevant log texts) and ``pack`` (one tar.gz with the node bundles and
the REST answers, redacted again on this side, a manifest.json and a SHA256SUMS; the fault matcher runs over its
logs and errorMsg texts; the archive and its findings are recorded in one append).

``collect_diagnostics``, the type's old name, is the same type: old operations in the log replay with it, and a
request under the old name plans the same steps (ADR 0031).
"""

from __future__ import annotations

import json
import re
import tarfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings

from controlplane.clusters.models import Cluster
from controlplane.diagnostics.domain.pack import Entry, pack, safe_member_name
from controlplane.diagnostics.domain.redaction import redact_member, redact_text, redact_value
from controlplane.operations.domain.aggregate import OperationAggregate
from controlplane.operations.domain.plan import StepSpec, Target, batches
from controlplane.operations.plans import (
    PlanError,
    Planned,
    _agent_step,
    _bool,
    _int,
    _names,
    _no_others,
    register_type,
    targets,
)
from controlplane.operations.steps import Done, Outcome, StepContext, StepError, step_kind

FAILED_RUNS_READ = 5  # a cluster's diagnosis reads the errors and logs of its latest failed runs, at most these
MAX_ENGINE_LOG_BYTES = 4 * 1024 * 1024  # the tail of each engine log text kept
MAX_BUNDLE_MEMBER_BYTES = 8 * 1024 * 1024
MAX_FINDINGS = 20


def archives_dir() -> Path:
    return Path(settings.DATA_DIR) / "diagnostics"


def archive_path(archive_id: str) -> Path:
    return archives_dir() / f"{archive_id}.tar.gz"


def staging_dir(operation_id: str) -> Path:
    return archives_dir() / "staging" / operation_id


# -- planning ----------------------------------------------------------------------------------------------------
def plan_diagnose(cluster: Cluster, params: dict[str, Any]) -> Planned:
    from controlplane.jobs import selectors as jobs_selectors

    _no_others(params, {"since_minutes", "include_thread_dump", "nodes", "batch_size", "run_id"})
    since = _int(params, "since_minutes", 60, 1, 7 * 24 * 60)
    dump = _bool(params, "include_thread_dump", True)
    run_id = params.get("run_id")
    subject = {"kind": "cluster", "id": cluster.id}
    if run_id is not None:
        run = jobs_selectors.run_for_system(run_id) if isinstance(run_id, str) else None
        if run is None or run.tenant_id != cluster.tenant_id or run.cluster_id != cluster.id:
            raise PlanError("run_id names no run of this cluster", code="DIAGNOSTIC_RUN_UNKNOWN", field="run_id")
        subject = {"kind": "run", "id": run.id}
    nodes: list[Target]
    try:
        nodes = targets(cluster, params.get("nodes"))
    except PlanError as error:
        # A cluster without agents is diagnosed from the engine's REST view alone; a node asked for must exist.
        if error.code != "OPERATION_NO_AGENTS" or params.get("nodes") is not None:
            raise
        nodes = []
    if params.get("nodes") is not None and len(nodes) == 1 and subject["kind"] == "cluster":
        subject = {"kind": "node", "id": nodes[0].node_id or nodes[0].agent_id}
    size = _int(params, "batch_size", max(len(nodes), 1), 1, 1000)
    steps: list[StepSpec] = [
        _agent_step(
            f"d{number}.collect",
            f"Collect a diagnostic bundle on {_names(group)}",
            "diagnostics.collect",
            {"since_minutes": since, "include_thread_dump": dump},
            group,
            number,
            continue_on_failure=True,  # a bundle from every node that can give one
        )
        for number, group in enumerate(batches(nodes, size), 1)
    ]
    steps += [
        StepSpec(
            key="engine",
            kind="diagnostics.engine",
            title="Read the engine's REST view: overview, members, job info, log files",
            params={"subject": subject, "since_minutes": since},
            timeout_seconds=120,
            continue_on_failure=True,
        ),
        StepSpec(
            key="pack",
            kind="diagnostics.pack",
            title="Pack one archive (manifest, checksums, secrets redacted) and match known faults",
            params={"subject": subject},
            timeout_seconds=300,
        ),
    ]
    understood = {
        "since_minutes": since,
        "include_thread_dump": dump,
        "nodes": [t.node_id or t.agent_id for t in nodes],
        "batch_size": size,
        "subject": subject,
    }
    notes = [] if nodes else ["No agent has registered for a node of this cluster: only the engine's REST view."]
    return Planned(steps, understood, notes)


def summarize_diagnose(op: OperationAggregate) -> dict:
    """Every node's bundle reference (the agent's ``data.artifact``), the nodes that gave none, and the archive."""
    bundles, missing = [], []
    archive = None
    for spec, status in zip(op.plan, op.steps, strict=True):
        if spec.kind == "diagnostics.pack":
            archive = status.result or None
            continue
        if spec.kind != "agent.action":
            continue
        per_target = (status.result or {}).get("targets", {})
        for target in spec.targets:
            entry = per_target.get(target.agent_id) or {}
            result = entry.get("result") or {}
            artifact = result.get("artifact") if isinstance(result, dict) else None
            if entry.get("state") == "SUCCEEDED":
                bundles.append({**target.to_dict(), "action_id": entry.get("action_id"), "artifact": artifact})
            else:
                missing.append({**target.to_dict(), "state": entry.get("state") or str(status.state)})
    return {"bundles": bundles, "missing": missing, "archive": archive}


# -- the engine's REST view --------------------------------------------------------------------------------------
def _cluster(ctx: StepContext) -> Cluster:
    from controlplane.operations import selectors

    cluster = selectors.cluster_for_system(ctx.operation.tenant_id, ctx.operation.cluster_id)
    if cluster is None:
        raise StepError("the cluster was removed", code="CLUSTER_NOT_FOUND")
    return cluster


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "unnamed"


def _write(folder: Path, name: str, data: bytes) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=1, ensure_ascii=False, default=str).encode()


@step_kind("diagnostics.engine")
def collect_engine(ctx: StepContext) -> Outcome:
    """Ask the engine and keep its answers (and the errors of the runs concerned) in the operation's staging folder;
    each answer that cannot be had is a failure with its reason, never the step's end. Running it again writes
    the same files anew (idempotent)."""
    from controlplane.clusters.connect import client_for
    from controlplane.errors import DomainError
    from controlplane.jobs import selectors as jobs_selectors

    cluster = _cluster(ctx)
    subject = ctx.spec.params["subject"]
    folder = staging_dir(ctx.operation.operation_id) / "engine"
    failures: list[dict[str, str]] = []
    if subject["kind"] == "run":
        found = jobs_selectors.run_for_system(subject["id"])
        runs = [found] if found is not None else []
    else:
        since = ctx.now - timedelta(minutes=int(ctx.spec.params.get("since_minutes", 60)))
        runs = jobs_selectors.failed_runs_for_system(cluster.tenant_id, cluster.id, since, FAILED_RUNS_READ)
    for run in runs:
        view = {
            "id": run.id,
            "job_id": run.job_id,
            "job_version": run.job_version,
            "state": run.state,
            "engine_job_id": str(run.engine_job_id),
            "engine_state": run.engine_state,
            "error_code": run.error_code,
            "created_at": run.created_at,
            "finished_at": run.finished_at,
        }
        _write(folder, f"runs/{run.id}/run.json", _json(view))
        if run.error:
            _write(folder, f"runs/{run.id}/error.txt", run.error.encode())
        version = jobs_selectors.version_for_system(run.job_id, run.job_version)
        if version is not None and subject["kind"] == "run":
            _write(folder, f"runs/{run.id}/config.{version.format or 'conf'}", version.text.encode())
    calls: list[tuple[str, Any]] = [
        ("overview.json", lambda c: c.get_json("/overview")),
        ("members.json", lambda c: c.system_monitoring()),
        ("logs/index.json", lambda c: c.get_json("/logs", params={"format": "json"})),
    ]
    for run in runs:
        engine_job = run.engine_job_id
        if subject["kind"] == "run" and engine_job:
            calls.append((f"runs/{run.id}/job-info.json", lambda c, j=engine_job: c.get_json(f"/job-info/{j}")))
    try:
        with client_for(cluster, timeout=5.0) as client:
            for name, call in calls:
                try:
                    _write(folder, name, _json(call(client)))
                except DomainError as error:
                    failures.append({"source": f"engine:{name}", "reason": f"{error.code}: {error.message}"})
            for run in runs:
                if not run.engine_job_id:
                    continue
                try:
                    files = client.job_logs(run.engine_job_id)
                except DomainError as error:
                    failures.append({"source": f"engine:logs/{run.engine_job_id}", "reason": f"{error.code}"})
                    continue
                for item in files:
                    name = f"logs/{_slug(item.node)}/{_slug(item.name)}"
                    if item.text is None:
                        code = item.error.code if item.error is not None else "ZETA_ERROR"
                        failures.append({"source": f"engine:{name}", "reason": code})
                        continue
                    _write(folder, name, item.text.encode()[-MAX_ENGINE_LOG_BYTES:])
    except DomainError as error:  # the client could not be opened: no endpoint answered
        failures.append({"source": "engine", "reason": f"{error.code}: {error.message}"})
    _write(folder.parent, "engine-failures.json", _json(failures))
    return Done({"runs": [r.id for r in runs], "failures": len(failures)})


# -- packing -----------------------------------------------------------------------------------------------------
def _bundle_entries(ctx: StepContext, failures: list[dict[str, str]]) -> list[tuple[Entry, str]]:
    """Every node bundle's files, redacted, under ``nodes/<host>/`` with the node id each came from."""
    from controlplane.agents import selectors as agents_selectors
    from controlplane.agents.filestore import SHA256, artifacts_dir

    found: list[tuple[Entry, str]] = []
    summary = summarize_diagnose(ctx.operation)
    for bundle in summary["bundles"]:
        node = bundle.get("node_id") or bundle.get("agent_id") or ""
        folder = _slug(bundle.get("hostname") or bundle.get("address") or node)
        artifact = bundle.get("artifact") or {}
        sha = str(artifact.get("sha256", ""))
        path = artifacts_dir() / sha
        if (
            not SHA256.match(sha)
            or not agents_selectors.artifact_uploaded_for_system(str(bundle.get("action_id")), sha)
            or not path.is_file()
        ):
            failures.append({"source": f"agent:{folder}", "reason": "the node's bundle was not uploaded"})
            continue
        try:
            with tarfile.open(path, "r:gz") as tar:
                for member in tar:
                    if not member.isfile() or member.size > MAX_BUNDLE_MEMBER_BYTES:
                        continue
                    name = safe_member_name(member.name.removeprefix("diagnostics/"))
                    handle = tar.extractfile(member)
                    if name is None or handle is None:
                        continue
                    data = redact_member(name, handle.read())
                    found.append((Entry(f"nodes/{folder}/{name}", data, f"agent:{folder}"), node))
        except (tarfile.TarError, OSError, EOFError) as error:
            failures.append({"source": f"agent:{folder}", "reason": f"the bundle could not be read: {error}"})
    for entry in summary["missing"]:
        name = entry.get("hostname") or entry.get("address") or entry.get("agent_id")
        failures.append({"source": f"agent:{name}", "reason": f"diagnostics.collect ended {entry.get('state')}"})
    return found


def _engine_entries(operation_id: str, failures: list[dict[str, str]]) -> list[Entry]:
    folder = staging_dir(operation_id) / "engine"
    recorded = staging_dir(operation_id) / "engine-failures.json"
    if recorded.is_file():
        failures.extend(json.loads(recorded.read_bytes()))
    else:
        failures.append({"source": "engine", "reason": "the engine step collected nothing"})
    if not folder.is_dir():
        return []
    entries = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        entries.append(Entry(f"engine/{name}", redact_member(name, path.read_bytes()), "engine:rest"))
    return entries


def _texts_to_match(entries: list[tuple[Entry, str]]) -> list[tuple[Entry, str]]:
    """Logs, errorMsg texts and thread dumps: what the matcher reads (not configs, facts or REST JSON)."""
    return [
        (e, node)
        for e, node in entries
        if "/logs/" in f"/{e.path}" or e.path.endswith(("error.txt", "thread_dump.txt"))
    ]


def find_faults(entries: list[tuple[Entry, str]], run_id: str, metrics: dict[str, float]) -> list[dict[str, Any]]:
    """The known faults in the archive's texts: per fingerprint and node the best-scored evidence, best first."""
    from controlplane.diagnostics.selectors import fault_match

    best: dict[tuple[str, str], dict[str, Any]] = {}
    for entry, node in _texts_to_match(entries):
        for found in fault_match(entry.data.decode(errors="replace"), metrics=metrics):
            key = (found.id, node)
            if key in best and best[key]["score"] >= found.score:
                continue
            fingerprint = found.fingerprint
            best[key] = {
                "fingerprint_id": found.id,
                "title": found.title,
                "severity": fingerprint.severity if fingerprint is not None else "",
                "score": found.score,
                "evidence": redact_text(found.evidence[0].text if found.evidence else "")[:2000],
                "source_file": entry.path,
                "node": node,
                "run_id": run_id,
            }
    return sorted(best.values(), key=lambda f: (-f["score"], f["fingerprint_id"], f["node"]))[:MAX_FINDINGS]


@step_kind("diagnostics.pack")
def pack_archive(ctx: StepContext) -> Outcome:
    """Write the archive, match the faults, record both (``do_record_archive``). The archive id is the operation's
    id: a second attempt after a crash finds it recorded and answers the same."""
    from controlplane.diagnostics import actions, selectors
    from controlplane.jobs import selectors as jobs_selectors

    archive_id = ctx.operation.operation_id
    recorded = selectors.archive_for_system(archive_id)
    if recorded is not None:
        return Done(_result(recorded.id, recorded.sha256, recorded.size, recorded.finding_count))
    subject = ctx.spec.params["subject"]
    failures: list[dict[str, str]] = []
    entries = _bundle_entries(ctx, failures)
    entries += [(e, "") for e in _engine_entries(archive_id, failures)]
    run_id = subject["id"] if subject["kind"] == "run" else ""
    metrics: dict[str, float] = {}
    if run_id:
        from controlplane.diagnostics.selectors import run_metrics

        run = jobs_selectors.run_for_system(run_id)
        metrics = run_metrics(run) if run is not None else {}
    findings = find_faults(entries, run_id, metrics)
    expires_at = ctx.now + timedelta(days=settings.DIAGNOSTIC_RETENTION_DAYS)
    header = {
        "archive_id": archive_id,
        "operation_id": archive_id,
        "tenant_id": ctx.operation.tenant_id,
        "cluster_id": ctx.operation.cluster_id,
        "subject": subject,
        "created_at": ctx.now.isoformat(),
        "expires_at": expires_at.isoformat(),
        "redaction": "secrets masked as ***REDACTED*** (agent/redact.py rules, JSON walked by key)",
        "findings": [{k: f[k] for k in ("fingerprint_id", "score", "source_file", "node")} for f in findings],
    }
    packed = pack(
        archive_path(archive_id),
        top=f"diagnostics-{archive_id}",
        entries=[e for e, _ in entries],
        header=redact_value(header),
        failures=failures,
    )
    actions.do_record_archive(
        metadata=ctx.metadata,
        operation=ctx.operation,
        subject=subject,
        size=packed.size,
        sha256=packed.sha256,
        files=packed.files,
        failures=failures,
        expires_at=expires_at,
        findings=findings,
    )
    _remove_staging(archive_id)
    return Done(_result(archive_id, packed.sha256, packed.size, len(findings)))


def _result(archive_id: str, sha256: str, size: int, findings: int) -> dict[str, Any]:
    return {"archive_id": archive_id, "sha256": sha256, "size": size, "findings": findings}


def _remove_staging(operation_id: str) -> None:
    import shutil

    shutil.rmtree(staging_dir(operation_id), ignore_errors=True)


for _name in ("diagnose", "collect_diagnostics"):
    register_type(
        _name,
        plan_diagnose,
        summarize_diagnose,
        "Diagnose a cluster, a node or a run: node bundles and the engine's REST view in one archive, known faults",
    )
