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
from collections.abc import Iterator
from datetime import timedelta
from itertools import chain
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
Found = tuple[Entry, str]  # a file of the archive and the node id it came from ("" for the engine's view)


def _bundle_entries(ctx: StepContext, failures: list[dict[str, str]]) -> Iterator[Found]:
    """Every node bundle's files, redacted, under ``nodes/<host>/``, one at a time."""
    from controlplane.agents import selectors as agents_selectors
    from controlplane.agents.filestore import SHA256, artifacts_dir

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
                    name = safe_member_name(member.name.removeprefix("diagnostics/"))
                    if not member.isfile() or name is None:
                        continue
                    if member.size > MAX_BUNDLE_MEMBER_BYTES:
                        failures.append(
                            {
                                "source": f"agent:{folder}/{name}",
                                "reason": f"larger than {MAX_BUNDLE_MEMBER_BYTES} bytes",
                            }
                        )
                        continue
                    handle = tar.extractfile(member)
                    if handle is not None:
                        data = redact_member(name, handle.read())
                        yield Entry(f"nodes/{folder}/{name}", data, f"agent:{folder}"), node
        except (tarfile.TarError, OSError, EOFError) as error:
            failures.append({"source": f"agent:{folder}", "reason": f"the bundle could not be read: {error}"})
    for entry in summary["missing"]:
        name = entry.get("hostname") or entry.get("address") or entry.get("agent_id")
        failures.append({"source": f"agent:{name}", "reason": f"diagnostics.collect ended {entry.get('state')}"})


def _engine_entries(operation_id: str, failures: list[dict[str, str]]) -> Iterator[Found]:
    folder = staging_dir(operation_id) / "engine"
    recorded = staging_dir(operation_id) / "engine-failures.json"
    if recorded.is_file():
        failures.extend(json.loads(recorded.read_bytes()))
    else:
        failures.append({"source": "engine", "reason": "the engine step collected nothing"})
    if not folder.is_dir():
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        yield Entry(f"engine/{name}", redact_member(name, path.read_bytes()), "engine:rest"), ""


class FaultFinder:
    """The known faults in the archive's texts, seen one file at a time as they are packed: logs, errorMsg texts
    and thread dumps (not configs, facts or REST JSON). Per fingerprint and node the best-scored evidence."""

    def __init__(self, run_id: str, metrics: dict[str, float]) -> None:
        self.run_id = run_id
        self.metrics = metrics
        self.best: dict[tuple[str, str], dict[str, Any]] = {}

    def see(self, entry: Entry, node: str) -> None:
        from controlplane.diagnostics.selectors import fault_match

        if "/logs/" not in f"/{entry.path}" and not entry.path.endswith(("error.txt", "thread_dump.txt")):
            return
        for found in fault_match(entry.data.decode(errors="replace"), metrics=self.metrics):
            key = (found.id, node)
            if key in self.best and self.best[key]["score"] >= found.score:
                continue
            fingerprint = found.fingerprint
            self.best[key] = {
                "fingerprint_id": found.id,
                "title": found.title,
                "severity": fingerprint.severity if fingerprint is not None else "",
                "score": found.score,
                "evidence": redact_text(found.evidence[0].text if found.evidence else "")[:2000],
                "source_file": entry.path,
                "node": node,
                "run_id": self.run_id,
            }

    def findings(self) -> list[dict[str, Any]]:
        """Best first, at most MAX_FINDINGS."""
        ordered = sorted(self.best.values(), key=lambda f: (-f["score"], f["fingerprint_id"], f["node"]))
        return ordered[:MAX_FINDINGS]


@step_kind("diagnostics.pack")
def pack_archive(ctx: StepContext) -> Outcome:
    """Write the archive, matching the faults file by file, then record both (``do_record_archive``). The archive id
    is the operation's id: a second attempt after a crash finds it recorded and answers the same."""
    from controlplane.diagnostics import actions, selectors
    from controlplane.jobs import selectors as jobs_selectors

    archive_id = ctx.operation.operation_id
    recorded = selectors.archive_for_system(archive_id)
    if recorded is not None:
        return Done(_result(recorded.id, recorded.sha256, recorded.size, recorded.finding_count))
    subject = ctx.spec.params["subject"]
    run_id = subject["id"] if subject["kind"] == "run" else ""
    metrics: dict[str, float] = {}
    if run_id:
        run = jobs_selectors.run_for_system(run_id)
        metrics = selectors.run_metrics(run) if run is not None else {}
    failures: list[dict[str, str]] = []
    finder = FaultFinder(run_id, metrics)

    def entries() -> Iterator[Entry]:
        for entry, node in chain(_bundle_entries(ctx, failures), _engine_entries(archive_id, failures)):
            finder.see(entry, node)
            yield entry

    expires_at = ctx.now + timedelta(days=settings.DIAGNOSTIC_RETENTION_DAYS)

    def manifest(files: list[dict[str, Any]]) -> dict[str, Any]:
        header = {
            "archive_id": archive_id,
            "operation_id": archive_id,
            "tenant_id": ctx.operation.tenant_id,
            "cluster_id": ctx.operation.cluster_id,
            "subject": subject,
            "created_at": ctx.now.isoformat(),
            "expires_at": expires_at.isoformat(),
            "redaction": "secrets masked as ***REDACTED*** (agent/redact.py rules, JSON walked by key)",
            "findings": [
                {k: f[k] for k in ("fingerprint_id", "score", "source_file", "node")} for f in finder.findings()
            ],
            "failures": failures,
        }
        return dict(redact_value(header))

    packed = pack(archive_path(archive_id), top=f"diagnostics-{archive_id}", entries=entries(), manifest=manifest)
    findings = finder.findings()
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
