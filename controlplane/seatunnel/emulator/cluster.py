"""Cluster mode: several emulator processes sharing one directory form one emulated Zeta cluster.

Each process is a member (its address is the REST address, 127.0.0.1:<port>) with a role. The members share
one SQLite file in the directory (WAL mode, a busy timeout): the member table, which every process refreshes
with a heartbeat, and the job table. Every request runs one short write transaction: load the jobs, move
them on the clock (including what follows from members that left), apply the request, save what changed.
So any member answers for the whole cluster, and the cluster's state outlives any one process.

What follows from membership (ZETA_FACTS §5):
- a member is live while it heartbeats (every HEARTBEAT_EVERY s); it is gone LIVE_WINDOW s after its last
  heartbeat, at once when it leaves on SIGTERM; a restarted process at the same address is a new
  incarnation (its jobs from before the restart count as lost when it rejoined), and so is a process that was
  paused past the window (it rejoins as the youngest member, like a suspected Hazelcast member);
- the active master is the oldest live member that can be master (role master or hybrid); when it goes the
  next oldest takes over and running jobs are "restored from master active switch" (log lines only: the
  state is shared, so nothing is lost);
- a job's tasks run on one live member that can run tasks (worker or hybrid), the least loaded, chosen when
  it starts; when that member goes, the job's pipeline fails and is restored on another live member after
  `job.retry.interval.seconds` (default 3), from the last checkpoint (streaming) or from the start (batch),
  counting restores; after `job.retry.times` (default 3) restores the next loss fails the job.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlplane.seatunnel.emulator.engine import _SNOWFLAKE_EPOCH_MS, Engine, Job, RequestError, _int
from controlplane.seatunnel.emulator.members import Member
from controlplane.seatunnel.states import JobState

HEARTBEAT_EVERY = 0.25  # seconds between a member's heartbeats
LIVE_WINDOW = 1.5  # seconds without a heartbeat after which a member counts as gone
DB_NAME = "cluster.sqlite3"
NO_MASTER = "cluster have no master node"  # ZETA_FACTS §8.1 row 24

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS members (address TEXT PRIMARY KEY, host TEXT NOT NULL, port INTEGER NOT NULL, "
    "role TEXT NOT NULL, incarnation TEXT NOT NULL, pid INTEGER NOT NULL, joined_at REAL NOT NULL, "
    "heartbeat_at REAL NOT NULL, left_at REAL)",
    "CREATE TABLE IF NOT EXISTS jobs (job_id INTEGER PRIMARY KEY, job BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


@dataclass(frozen=True)
class MemberRow:
    address: str
    host: str
    port: int
    role: str
    incarnation: str
    pid: int
    joined_at: float
    heartbeat_at: float
    left_at: float | None

    @property
    def gone_at(self) -> float:
        """When this incarnation stops (or stopped) counting as live."""
        return self.left_at if self.left_at is not None else self.heartbeat_at + LIVE_WINDOW

    def live(self, at: float) -> bool:
        return self.joined_at <= at < self.gone_at

    @property
    def runs_tasks(self) -> bool:
        return self.role in ("worker", "hybrid")

    @property
    def can_be_master(self) -> bool:
        return self.role in ("master", "hybrid")


def active_master(rows: list[MemberRow], at: float) -> MemberRow | None:
    candidates = [r for r in rows if r.can_be_master and r.live(at)]
    return min(candidates, key=lambda r: (r.joined_at, r.address), default=None)


class ClusterStore:
    """The shared SQLite file through one connection, used by one thread at a time; writes go through
    `transaction()`. Open a second store for a thread that must not queue behind the others (the heartbeat)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / DB_NAME
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer; kept in the file
        self._conn.execute("PRAGMA synchronous=NORMAL")  # an emulator need not survive a power cut
        with self.transaction() as tx:
            for statement in _SCHEMA:
                tx.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE: take the write lock up front, so two members never interleave a read-advance-write.
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def members(self, conn: sqlite3.Connection | None = None) -> list[MemberRow]:
        query = "SELECT address, host, port, role, incarnation, pid, joined_at, heartbeat_at, left_at FROM members"
        with self._lock:
            rows = (conn or self._conn).execute(query).fetchall()
        return sorted((MemberRow(*row) for row in rows), key=lambda r: (r.joined_at, r.address))

    def join(self, *, host: str, port: int, role: str) -> MemberRow:
        now = time.time()
        row = MemberRow(f"{host}:{port}", host, port, role, uuid.uuid4().hex, os.getpid(), now, now, None)
        with self.transaction() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO members VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row.address, row.host, row.port, row.role, row.incarnation, row.pid, now, now, None),
            )
        return row

    def heartbeat(self, me: MemberRow) -> bool:
        """Refresh the member's beat; False if it had already aged out (the cluster counts it as gone)."""
        now = time.time()
        with self.transaction() as tx:
            updated = tx.execute(
                "UPDATE members SET heartbeat_at = ? WHERE address = ? AND incarnation = ? AND left_at IS NULL "
                "AND heartbeat_at + ? > ?",
                (now, me.address, me.incarnation, LIVE_WINDOW, now),
            ).rowcount
        return updated == 1

    def leave(self, me: MemberRow) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE members SET left_at = ? WHERE address = ? AND incarnation = ?",
                (time.time(), me.address, me.incarnation),
            )


class Heartbeat(threading.Thread):
    """Keeps this process's member row fresh until stopped."""

    def __init__(self, directory: str | Path, me: MemberRow) -> None:
        super().__init__(name="emulator-heartbeat", daemon=True)
        self.store = ClusterStore(directory)  # its own connection: beats never queue behind requests
        self.me = me
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(HEARTBEAT_EVERY):
            try:
                if not self.store.heartbeat(self.me):
                    # Counted as gone (a pause longer than the window): like a suspected Hazelcast member, join
                    # again as a new, youngest member; the tasks it had were restored elsewhere.
                    self.me = self.store.join(host=self.me.host, port=self.me.port, role=self.me.role)
                    print(f"emulator: missed heartbeats, rejoined as {self.me.incarnation}", file=sys.stderr)
            except sqlite3.Error as error:  # a busy file: the next beat tries again, the window has slack
                print(f"emulator: heartbeat failed: {error}", file=sys.stderr, flush=True)
        self.store.close()

    def stop(self) -> None:
        self._stopped.set()


class ClusterMembers:
    """The live members, oldest first, for /system-monitoring-information and /overview (MemberList's API)."""

    def __init__(self, store: ClusterStore) -> None:
        self.store = store

    def rows(self) -> list[MemberRow]:
        now = time.time()
        return [r for r in self.store.members() if r.live(now)]

    def current(self) -> list[Member]:
        rows = self.rows()
        master = active_master(rows, time.time())
        return [
            Member(host=r.host, port=r.port, role=r.role, master=master is not None and r.address == master.address)
            for r in rows
        ]


class ClusterEngine(Engine):
    """The engine over the shared store: each `_state()` is one SQLite transaction."""

    def __init__(self, *, store: ClusterStore, me: MemberRow, **kwargs: Any) -> None:
        super().__init__(clock=time.time, node=me.address, **kwargs)
        self._mono0 = self._wall0  # the clock is wall time, shared by every member on the host
        self.store = store
        self.me = me
        self._depth = 0
        self._conn: sqlite3.Connection | None = None
        self._loaded: dict[int, bytes] = {}
        self._rows: dict[str, MemberRow] = {}
        self._worker_bits = me.port % 1024  # the snowflake's worker id: members never mint the same id

    # -- the shared table ----------------------------------------------------------------------------------
    @contextmanager
    def _state(self) -> Iterator[None]:
        with self._lock:
            if self._depth:  # nested (submit -> slots_in_use): same transaction
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                with self.store.transaction() as conn:
                    self._conn = conn
                    self._load(conn)
                    yield
                    self._save(conn)
            finally:
                self._depth = 0
                self._conn = None

    def _load(self, conn: sqlite3.Connection) -> None:
        self._rows = {r.address: r for r in self.store.members(conn)}
        self._loaded = dict(conn.execute("SELECT job_id, job FROM jobs"))
        self._jobs = {job_id: pickle.loads(blob) for job_id, blob in self._loaded.items()}  # noqa: S301 - our own file

    def _save(self, conn: sqlite3.Connection) -> None:
        for job_id in self._loaded.keys() - self._jobs.keys():  # expired from the history
            conn.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))
        for job_id, job in self._jobs.items():
            blob = pickle.dumps(job)
            if self._loaded.get(job_id) != blob:
                conn.execute("INSERT OR REPLACE INTO jobs (job_id, job) VALUES (?, ?)", (job_id, blob))

    def new_job_id(self) -> int:
        while True:
            millis = int(time.time() * 1000) - _SNOWFLAKE_EPOCH_MS
            job_id = (millis << 22) | (self._worker_bits << 12) | (next(self._seq) & 0xFFF)
            if job_id not in self._jobs:
                return job_id

    # -- membership --------------------------------------------------------------------------------------
    def _live_workers(self, at: float) -> list[MemberRow]:
        return [r for r in self._rows.values() if r.runs_tasks and r.live(at)]

    def _place(self, job: Job, now: float) -> bool:
        target = self._least_loaded(now, job)
        if target is None:
            return False
        job.worker, job.worker_incarnation = target.address, target.incarnation
        return True

    def _least_loaded(self, at: float, job: Job) -> MemberRow | None:
        """The live worker running the fewest jobs (oldest first on a tie) that has room for `job`'s slots."""
        load: dict[str, int] = {}
        used: dict[str, int] = {}
        for other in self._jobs.values():
            if other.worker and not other.state.is_terminal and other is not job:
                load[other.worker] = load.get(other.worker, 0) + 1
                used[other.worker] = used.get(other.worker, 0) + other.slots
        workers = [
            r
            for r in self._live_workers(at)
            if self.plan.slots is None or used.get(r.address, 0) + job.slots <= self.plan.slots
        ]
        return min(workers, key=lambda r: (load.get(r.address, 0), r.joined_at, r.address), default=None)

    def total_slots(self) -> int | None:
        """In a cluster a --faults `slots` is each worker's slot-num: capacity is their sum over live workers."""
        if self.plan.slots is None:
            return None
        with self._state():
            return self.plan.slots * len(self._live_workers(self.now()))

    def _lost_at(self, job: Job) -> float | None:
        """When the member running the job's tasks went away, or None while it is there."""
        if job.worker is None:
            return None
        row = self._rows.get(job.worker)
        if row is None:
            return self.now()
        if row.incarnation != job.worker_incarnation:
            return row.joined_at  # the process was restarted: its tasks died no later than that
        return None if row.live(self.now()) else row.gone_at

    def active_master(self) -> MemberRow | None:
        return active_master(list(self._rows.values()), self.now())

    def is_master(self) -> bool:
        with self._state():
            master = self.active_master()
            return master is not None and master.address == self.me.address

    # -- moving on the clock -------------------------------------------------------------------------------
    def _advance_all(self) -> None:
        now = self.now()
        self._note_master(now)
        for job in list(self._jobs.values()):
            self._advance_job(job, now)
        self._expire_history(now)

    def _note_master(self, now: float) -> None:
        assert self._conn is not None
        master = self.active_master()
        if master is None:
            raise RequestError(NO_MASTER)
        key = f"{master.address}/{master.incarnation}"
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'master'").fetchone()
        if row is not None and row[0] == key:
            return
        self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('master', ?)", (key,))
        if row is None:
            return
        # CoordinatorService.restoreAllRunningJobFromMasterNodeSwitch (ZETA_FACTS §5): the new master picks
        # up every running job; here the state is shared, so this is only the log trail.
        for job in self._jobs.values():
            if not job.state.is_terminal:
                job.log.append(self._line(job, "INFO", f"begin restore job ({job.job_id}) from master active switch"))
                job.log.append(
                    self._line(job, "INFO", f"restore job ({job.job_id}) from master active switch finished")
                )

    def _advance_job(self, job: Job, now: float) -> None:
        while True:
            if job.restore_at is not None:
                if job.restore_at > now:
                    return
                self._restore(job, job.restore_at)
                continue
            lost = self._lost_at(job)
            if lost is None:
                self._advance(job, now)
                return
            self._advance(job, min(lost, now))
            if job.state.is_terminal or job.state in (JobState.CANCELING, JobState.FAILING):
                job.worker = job.worker_incarnation = None  # its tasks are gone; the stop or failure completes
                self._advance(job, now)
                return
            self._tasks_failed(job, min(lost, now))

    def _checkpoint_rows(self, job: Job, at: float) -> float:
        """Rows as of the last completed checkpoint: a streaming job restarts from there, a batch from zero."""
        if not job.streaming:
            return 0.0
        if job.state not in (JobState.RUNNING, JobState.DOING_SAVEPOINT) or job.running_since is None:
            return job.frozen_rows
        interval = self._secs(max(_int(job.env.get("checkpoint.interval"), 10000), 10) / 1000.0)
        completed = int((at - job.running_since) / interval)
        return job.rows(job.running_since + completed * interval)

    def _tasks_failed(self, job: Job, at: float) -> None:
        address = job.worker
        job.frozen_rows = self._checkpoint_rows(job, at)
        job.running_since = None
        job.steps = []
        job.worker = job.worker_incarnation = None
        job.restore_count += 1
        error = member_left_text(str(address), job.job_id)
        job.log.append(
            self._line(
                job,
                "ERROR",
                f"taskGroup TaskGroupLocation{{jobId={job.job_id}, pipelineId=1, taskGroupId=1}} complete with "
                f"FAILED: {error}",
                at=at,
            )
        )
        if job.state is JobState.DOING_SAVEPOINT:
            job.log.append(self._line(job, "WARN", f"Job ({job.job_id}) savepoint failed: {error}", at=at))
        if job.restore_count > job.max_restore_count:
            self._fail(job, at, error)
            return
        job.restore_at = at + self._secs(max(_int(job.env.get("job.retry.interval.seconds"), 3), 0))

    def _restore(self, job: Job, at: float) -> None:
        target = self._least_loaded(at, job)
        if target is None:  # nowhere to run: the restore attempt fails and counts
            job.restore_count += 1
            error = (
                "org.apache.seatunnel.engine.server.resourcemanager.NoEnoughResourceException: "
                "can't apply resource request"
            )
            job.log.append(self._line(job, "ERROR", f"Restore pipeline 1 error with exception: {error}", at=at))
            if job.restore_count > job.max_restore_count:
                job.restore_at = None
                self._fail(job, at, error)
            else:
                job.restore_at = at + self._secs(max(_int(job.env.get("job.retry.interval.seconds"), 3), 0))
            return
        job.restore_at = None
        job.worker, job.worker_incarnation = target.address, target.incarnation
        job.log.append(
            self._line(
                job,
                "INFO",
                f"Job {job.name} ({job.job_id}) pipeline 1 restore "
                f"{'from checkpoint' if job.streaming else 'from the start'} "
                f"({job.restore_count}/{job.max_restore_count}), tasks deployed to {target.address}",
                at=at,
            )
        )
        if job.state is JobState.RUNNING:
            job.running_since = at
            job.base_rows = job.frozen_rows
        else:
            self._enter(job, JobState.RUNNING, at)
        job.steps = self._run_steps(job, at)

    def _fail(self, job: Job, at: float, error: str) -> None:
        job.fault = None  # the member loss, not an injected fault, is the cause
        self._enter(job, JobState.FAILING, at)
        job.error_msg = error
        job.log.append(self._line(job, "ERROR", f"Job {job.name} ({job.job_id}) failed: {error}", at=at))
        job.steps = [(at + self._secs(0.2), JobState.FAILED)]

    # -- the emulator's own view (not a Zeta API) ----------------------------------------------------------
    def debug(self) -> dict[str, Any]:
        now = time.time()
        with self._lock, self.store.transaction() as conn:
            rows = self.store.members(conn)
        master = active_master(rows, now)
        view: dict[str, Any] = {
            "member": self.me.address,
            "master": master.address if master else None,
            "members": [
                {
                    "address": r.address,
                    "role": r.role,
                    "incarnation": r.incarnation,
                    "pid": r.pid,
                    "live": r.live(now),
                    "joinedAt": int(r.joined_at * 1000),
                    "lastHeartbeatAt": int(r.heartbeat_at * 1000),
                    "leftAt": int(r.left_at * 1000) if r.left_at is not None else None,
                }
                for r in rows
            ],
        }
        try:
            jobs = self.jobs()
        except RequestError:
            jobs = []
        view["jobs"] = [
            {
                "jobId": str(j.job_id),
                "jobStatus": str(j.state),
                "worker": j.worker,
                "restoreCount": j.restore_count,
                "maxRestoreCount": j.max_restore_count,
                "restoring": j.restore_at is not None,
            }
            for j in jobs
        ]
        return view


def member_left_text(address: str, job_id: int) -> str:
    """The errorMsg of a job whose tasks were on a member that left: the engine fails the task group with
    ``JobException("The taskGroup(%s) deployed node(%s) offline")`` (ZETA_FACTS §8.1 #36, CoordinatorService)."""
    host, _, port = address.rpartition(":")
    return (
        "org.apache.seatunnel.engine.common.exception.JobException: The taskGroup(TaskGroupLocation{"
        f"jobId={job_id}, pipelineId=1, taskGroupId=1}}) deployed node([{host}]:{port}) offline\n"
        "\tat org.apache.seatunnel.engine.server.CoordinatorService.lambda$memberRemoved$0(CoordinatorService.java)\n"
    )
