"""The lease: at most one worker advances an operation at a time.

A worker takes the lease with one conditional UPDATE (free, or held by an owner whose lease expired), so two
workers that race for it cannot both win: the database serialises the two updates of the row and the loser's
WHERE no longer matches. While a step runs, a timer renews the lease; every outcome is recorded in a transaction
that first renews it (``fence``), so a worker that lost its lease (paused too long, its row taken over) cannot
record over its successor. docs/adr/0012-operation-lease-and-recovery.md.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from controlplane.errors import DomainError
from controlplane.operations.models import OperationLease


class LeaseLost(DomainError):
    code = "OPERATION_LEASE_LOST"


@dataclass
class Lease:
    operation_id: str
    owner: str
    seconds: float
    takeover: bool  # taken from an owner whose lease had expired (that worker died or hung)
    lost: threading.Event = field(default_factory=threading.Event)


def create(operation_id: str) -> None:
    """The lease row of a new operation: free, and due now (its first task is queued after commit)."""
    now = timezone.now()
    OperationLease.objects.create(operation_id=operation_id, wake_at=now, created_at=now)


def acquire(operation_id: str, *, seconds: float) -> Lease | None:
    """Take the lease, or None when another worker holds it (or the operation is finished)."""
    now = timezone.now()
    row = OperationLease.objects.filter(operation_id=operation_id, active=True).values("owner", "expires_at").first()
    if row is None:
        return None
    previous = row["owner"]
    if previous and row["expires_at"] is not None and row["expires_at"] > now:
        return None
    owner = uuid.uuid4().hex
    takeover = bool(previous)
    # compare-and-set on the owner we saw: free, or still that expired owner
    taken = (
        OperationLease.objects.filter(operation_id=operation_id, active=True, owner=previous)
        .filter(Q(owner="") | Q(expires_at__lt=now))
        .update(
            owner=owner,
            expires_at=now + timedelta(seconds=seconds),
            wake_at=None,
            takeovers=F("takeovers") + (1 if takeover else 0),
        )
    )
    return Lease(operation_id, owner, seconds, takeover) if taken == 1 else None


def renew(lease: Lease) -> bool:
    """Move the expiry on; False when the lease is no longer ours."""
    ok = (
        OperationLease.objects.filter(operation_id=lease.operation_id, owner=lease.owner, active=True).update(
            expires_at=timezone.now() + timedelta(seconds=lease.seconds)
        )
        == 1
    )
    if not ok:
        lease.lost.set()
    return ok


def fence(lease: Lease) -> None:
    """Inside the transaction that records an outcome: renew, and refuse if the lease is no longer ours. The
    renewal's row lock is held until that transaction ends, so nobody takes the lease in between."""
    if not renew(lease):
        raise LeaseLost("another worker holds this operation now", operation_id=lease.operation_id, owner=lease.owner)


def release(lease: Lease, *, wake_at: datetime) -> bool:
    """Give the lease up; the operation next needs a worker at ``wake_at`` (recovery re-queues it after that)."""
    return (
        OperationLease.objects.filter(operation_id=lease.operation_id, owner=lease.owner).update(
            owner="", expires_at=None, wake_at=wake_at
        )
        == 1
    )


def finish(lease: Lease) -> None:
    """The operation is terminal: the row stays for the record, and recovery stops looking at it."""
    OperationLease.objects.filter(operation_id=lease.operation_id, owner=lease.owner).update(
        owner="", expires_at=None, wake_at=None, active=False
    )


def due(*, grace: float, now: datetime | None = None) -> list[str]:
    """Operations that need a worker and may have none: a lease that expired (its worker died), or a free one
    whose wake-up passed ``grace`` seconds ago (the queued task was lost: a broker restart, a crash before the
    enqueue). Marks them so the next recovery tick waits ``grace`` again before re-queueing the same row."""
    now = now or timezone.now()
    late = now - timedelta(seconds=grace)
    rows = OperationLease.objects.filter(active=True).filter(
        Q(owner="", wake_at__lte=late)
        | (~Q(owner="") & Q(expires_at__lt=now) & (Q(wake_at__isnull=True) | Q(wake_at__lte=late)))
    )
    ids = list(rows.values_list("operation_id", flat=True)[:1000])
    if ids:
        OperationLease.objects.filter(operation_id__in=ids, active=True).update(wake_at=now)
    return ids


class Renewer:
    """Renews a lease every third of its length while a step runs, from a timer thread with its own connection.
    It starts only when the step outlives a third of the lease, so short steps never open a second connection."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.interval = max(lease.seconds / 3, 0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{lease.operation_id[:8]}", daemon=True)

    def __enter__(self) -> Renewer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                if not renew(self.lease):
                    return
        finally:
            connection.close()  # this thread's connection
