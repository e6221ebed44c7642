"""The archive aggregate: pure decide/evolve over one diagnostic archive (packed once, downloaded while it
lives, expired once; its findings recorded with it and each fix confirmed against its finding)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from controlplane.diagnostics.domain.events import (
    ArchiveDownloaded,
    ArchiveExpired,
    ArchivePacked,
    FindingRecorded,
    FixApplied,
)
from controlplane.errors import DomainError


class ArchiveNotFound(DomainError):
    code = "DIAGNOSTIC_ARCHIVE_NOT_FOUND"


class ArchiveExpiredError(DomainError):
    code = "DIAGNOSTIC_ARCHIVE_EXPIRED"


@dataclass(frozen=True)
class ArchiveState:
    archive_id: str = ""
    tenant_id: str = ""
    workspace_id: str = ""
    packed: bool = False
    expired: bool = False
    expires_at: str = ""
    findings: tuple[str, ...] = field(default_factory=tuple)


def pack(state: ArchiveState, *, packed: ArchivePacked, findings: list[FindingRecorded]) -> list[object]:
    """The archive and what was found in it, in one append; a second pack of the same archive records nothing (the
    pack step ran again after a crash between its append and its journal)."""
    if state.packed:
        return []
    return [packed, *findings]


def _require_live(state: ArchiveState, now: datetime) -> None:
    if not state.packed:
        raise ArchiveNotFound("no such diagnostic archive", archive_id=state.archive_id)
    if state.expired or datetime.fromisoformat(state.expires_at) <= now:
        raise ArchiveExpiredError(
            f"the diagnostic archive expired at {state.expires_at} and its file was deleted",
            archive_id=state.archive_id,
            expired_at=state.expires_at,
        )


def download(state: ArchiveState, *, now: datetime) -> list[object]:
    _require_live(state, now)
    return [ArchiveDownloaded(archive_id=state.archive_id)]


def expire(state: ArchiveState, *, now: datetime, deleted_bytes: int) -> list[object]:
    """Due once its retention ended; an archive already expired records nothing."""
    if not state.packed or state.expired or datetime.fromisoformat(state.expires_at) > now:
        return []
    return [ArchiveExpired(archive_id=state.archive_id, deleted_bytes=deleted_bytes)]


def apply_fix(
    state: ArchiveState,
    *,
    finding_id: str,
    kind: str,
    type: str,
    plan_hash: str,
    operation_id: str,
    job_version_id: str = "",
) -> list[object]:
    if finding_id not in state.findings:
        raise DomainError("no such finding", code="DIAGNOSTIC_FINDING_NOT_FOUND", finding_id=finding_id)
    return [
        FixApplied(
            archive_id=state.archive_id,
            finding_id=finding_id,
            kind=kind,
            type=type,
            plan_hash=plan_hash,
            operation_id=operation_id,
            job_version_id=job_version_id,
        )
    ]


def evolve(state: ArchiveState, recorded: Any) -> ArchiveState:
    event = recorded.data
    if isinstance(event, ArchivePacked):
        return replace(
            state,
            archive_id=event.archive_id,
            tenant_id=event.tenant_id,
            workspace_id=event.workspace_id,
            packed=True,
            expires_at=event.expires_at,
        )
    if isinstance(event, FindingRecorded):
        return replace(state, findings=(*state.findings, event.finding_id))
    if isinstance(event, ArchiveExpired):
        return replace(state, expired=True)
    return state  # downloads and fixes change nothing the decisions read


def to_snapshot(state: ArchiveState) -> dict[str, Any]:
    return {
        "archive_id": state.archive_id,
        "tenant_id": state.tenant_id,
        "workspace_id": state.workspace_id,
        "packed": state.packed,
        "expired": state.expired,
        "expires_at": state.expires_at,
        "findings": list(state.findings),
    }


def from_snapshot(data: dict[str, Any]) -> ArchiveState:
    return ArchiveState(**{**data, "findings": tuple(data.get("findings", ()))})
