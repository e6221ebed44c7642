"""Events of a diagnostic archive's stream (``archive-<id>``; the archive id is the diagnose operation's id). Wire
names are stable. Metadata and findings only: the archive's bytes are a file, never in the log."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.eventlog.types import event_type


@event_type("diagnostics.archive_packed")
@dataclass(frozen=True)
class ArchivePacked:
    """The pack step wrote the archive (DATA_DIR/diagnostics/<archive_id>.tar.gz)."""

    archive_id: str
    tenant_id: str
    workspace_id: str
    cluster_id: str
    subject_kind: str  # cluster | node | run
    subject_id: str  # the cluster id, the node id or the run id
    operation_id: str
    size: int
    sha256: str
    files: int  # entries in the archive, manifest.json and SHA256SUMS included
    failures: list  # [{"source": ..., "reason": ...}]: what could not be collected
    expires_at: str  # ISO 8601; CONTROLPLANE_DIAGNOSTIC_RETENTION_DAYS after packing


@event_type("diagnostics.finding_recorded")
@dataclass(frozen=True)
class FindingRecorded:
    """A known fault the matcher found in the archive's texts (a node's log, an engine log, a run's errorMsg)."""

    archive_id: str
    finding_id: str  # "<archive id>:<n>"
    fingerprint_id: str
    title: str  # English, as the library had it when found
    severity: str
    score: float
    evidence: str  # the matched line
    source_file: str  # the path inside the archive
    node: str  # the node id ("" for the engine's REST view)
    run_id: str  # the run diagnosed, or ""


@event_type("diagnostics.archive_downloaded")
@dataclass(frozen=True)
class ArchiveDownloaded:
    """Audit: someone downloaded the archive (who and from where is in the metadata)."""

    archive_id: str


@event_type("diagnostics.archive_expired")
@dataclass(frozen=True)
class ArchiveExpired:
    """The retention task deleted the archive's file; its metadata and findings stay."""

    archive_id: str
    deleted_bytes: int


@event_type("diagnostics.fix_applied")
@dataclass(frozen=True)
class FixApplied:
    """A finding's one-click fix was confirmed and started as an ordinary operation, or written as a job version."""

    archive_id: str
    finding_id: str
    kind: str  # operation | agent_action | job_version
    type: str  # the operation type, the agent action type or the job-version fix type
    plan_hash: str
    operation_id: str  # "" for a job_version fix
    job_version_id: str = ""  # "<job id>:<n>" written by a job_version fix (absent from older events)
