"""The on-disk journal of a run: `<prefix>/.installer/journal.json` (docs/INSTALLER.md, "The journal").

It records the operation, the spec it ran with (secrets included: the file is 0600), and each step with its
status and result. It is rewritten whole after every step, atomically (tmp + fsync + os.replace), so what is on
disk is always a journal that some moment of the run really had. `--resume` loads it and skips the steps
recorded `done`; the steps are idempotent, so one that was cut off half-way simply runs again.

A run holds `<prefix>/.installer/lock` (flock) while it runs: a second run on the same prefix is refused.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from installer import errors, fsutil
from installer.errors import InstallerError

SCHEMA = 1
RUNNING = "running"
DONE = "done"
FAILED = "failed"
ROLLED_BACK = "rolled_back"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class StepRecord:
    name: str
    status: str  # running | done | failed | skipped
    started_at: str
    finished_at: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None


@dataclass
class Journal:
    path: Path
    operation: str
    spec: dict[str, Any]
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: str = RUNNING
    started_at: str = field(default_factory=now)
    finished_at: str | None = None
    steps: list[StepRecord] = field(default_factory=list)
    error: dict[str, Any] | None = None
    resumed: int = 0

    # -- persistence ------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "run_id": self.run_id,
            "operation": self.operation,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "resumed": self.resumed,
            "spec": self.spec,
            "steps": [vars(step) for step in self.steps],
            "error": self.error,
        }

    def save(self) -> None:
        fsutil.write_atomic(self.path, json.dumps(self.to_json(), indent=2).encode(), mode=0o600)

    @classmethod
    def load(cls, path: Path) -> Journal | None:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            raise InstallerError(
                errors.UNFINISHED_RUN,
                f"The journal {path} is not readable JSON.",
                "Move it aside to start over (the steps are idempotent), after checking the node by hand.",
            ) from None
        return cls(
            path=path,
            operation=data["operation"],
            spec=data["spec"],
            run_id=data["run_id"],
            status=data["status"],
            started_at=data["started_at"],
            finished_at=data.get("finished_at"),
            steps=[StepRecord(**step) for step in data.get("steps", [])],
            error=data.get("error"),
            resumed=data.get("resumed", 0),
        )

    # -- steps ------------------------------------------------------------------------------------

    def done(self, name: str) -> StepRecord | None:
        for step in self.steps:
            if step.name == name and step.status == DONE:
                return step
        return None

    def begin(self, name: str) -> StepRecord:
        self.steps = [s for s in self.steps if not (s.name == name and s.status != DONE)]
        record = StepRecord(name=name, status=RUNNING, started_at=now())
        self.steps.append(record)
        self.save()
        return record

    def finish(self, record: StepRecord, result: dict[str, Any]) -> None:
        record.status = DONE
        record.finished_at = now()
        record.result = result
        self.save()

    def fail(self, record: StepRecord, error: dict[str, Any]) -> None:
        record.status = FAILED
        record.finished_at = now()
        record.error = error
        self.save()

    def end(self, status: str, error: dict[str, Any] | None = None) -> None:
        self.status = status
        self.finished_at = now()
        self.error = error
        self.save()

    def last_done(self) -> str | None:
        done = [s.name for s in self.steps if s.status == DONE]
        return done[-1] if done else None


class RunLock:
    """An exclusive flock on `<prefix>/.installer/lock` for the length of a run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InstallerError(
                errors.BUSY,
                f"Another installer run holds {self.path}.",
                "Wait for it to finish (its progress is in journal.json beside the lock).",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
