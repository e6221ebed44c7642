"""The agent's state directory: its credential, the ids and nonces it has seen, and its outbox.

```
<state_dir>/            0700
  credential.json       0600  {"server", "agent_id", "credential", "signing_key": {"key_id", "public_key"}}
  seen/<id>.json        one per action id: nonce hash, expiry, state (running|done|refused), the outcome
  seen/nonce-<sha256>   the id a nonce came with (replay check)
  outbox/<id>.json      results and refusals not yet acknowledged by the control plane
  outbox/rejected/      answers the control plane refused with a 4xx (kept to read, not retried)
  artifacts/<id>.tar.gz bundles waiting for upload
  service.pid, worker.pid   the process manager's children
```

Every write goes to a temporary file that is fsynced and renamed over the target, so a crash leaves
either the old or the new file, never half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SKEW_SECONDS = 30  # the clock-skew allowance on expires_at (docs/AGENT_PROTOCOL.md)


class StateError(Exception):
    """The state directory cannot be used (permissions, a file that is not ours)."""


@dataclass(frozen=True)
class Credential:
    server: str
    agent_id: str
    credential: str
    key_id: str
    public_key: str  # base64 of the raw 32-byte Ed25519 key

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "agent_id": self.agent_id,
            "credential": self.credential,
            "signing_key": {"key_id": self.key_id, "public_key": self.public_key},
        }


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # exactly `mode`, whatever the process's umask
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class StateDir:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.seen = self.path / "seen"
        self.outbox = self.path / "outbox"
        self.rejected = self.outbox / "rejected"
        self.artifacts = self.path / "artifacts"
        self._lock = threading.Lock()

    # -- set-up -------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Create the directories; the top one is made (or tightened to) 0700."""
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            if stat.S_IMODE(self.path.stat().st_mode) != 0o700:
                os.chmod(self.path, 0o700)
            for sub in (self.seen, self.outbox, self.rejected, self.artifacts):
                sub.mkdir(mode=0o700, exist_ok=True)
        except OSError as error:
            raise StateError(f"state dir {self.path}: {error.strerror or error}") from None

    # -- credential ---------------------------------------------------------------------------------

    @property
    def credential_path(self) -> Path:
        return self.path / "credential.json"

    def load_credential(self) -> Credential | None:
        try:
            raw = json.loads(self.credential_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise StateError(f"{self.credential_path}: unreadable ({error}); remove it to register again") from None
        mode = stat.S_IMODE(self.credential_path.stat().st_mode)
        if mode & 0o077:
            raise StateError(f"{self.credential_path}: mode {mode:o} lets others read it; it must be 0600")
        try:
            key = raw["signing_key"]
            return Credential(raw["server"], raw["agent_id"], raw["credential"], key["key_id"], key["public_key"])
        except (KeyError, TypeError):
            raise StateError(f"{self.credential_path}: missing fields; remove it to register again") from None

    def save_credential(self, credential: Credential) -> None:
        write_atomic(self.credential_path, json.dumps(credential.to_json(), indent=2).encode(), mode=0o600)

    # -- seen ids and nonces ------------------------------------------------------------------------

    def _seen_path(self, action_id: str) -> Path:
        return self.seen / f"{_safe(action_id)}.json"

    def _nonce_path(self, nonce: str) -> Path:
        return self.seen / f"nonce-{hashlib.sha256(nonce.encode()).hexdigest()}"

    def seen_record(self, action_id: str) -> dict[str, Any] | None:
        try:
            record: dict[str, Any] = json.loads(self._seen_path(action_id).read_text())
            return record
        except FileNotFoundError:
            return None
        except ValueError:
            return None

    def nonce_owner(self, nonce: str) -> str | None:
        try:
            return self._nonce_path(nonce).read_text()
        except FileNotFoundError:
            return None

    def claim(self, action: dict[str, Any], state: str) -> bool:
        """Record an id (and its nonce) as seen. False when the id was already recorded (a duplicate)."""
        with self._lock:
            path = self._seen_path(action["id"])
            if path.exists():
                return False
            nonce = action.get("nonce")
            # The first id a nonce came with keeps it (a replay under a new id must not take it over).
            if isinstance(nonce, str) and nonce and not self._nonce_path(nonce).exists():
                write_atomic(self._nonce_path(nonce), str(action["id"]).encode())
            self._write_seen(action, state, None)
            return True

    def finish(self, action: dict[str, Any], state: str, outcome: dict[str, Any]) -> None:
        with self._lock:
            self._write_seen(action, state, outcome)

    def _write_seen(self, action: dict[str, Any], state: str, outcome: dict[str, Any] | None) -> None:
        record = {
            "id": action["id"],
            "type": action.get("type"),
            "expires_at": action.get("expires_at"),
            "state": state,
            "outcome": outcome,
        }
        write_atomic(self._seen_path(action["id"]), json.dumps(record).encode())

    def interrupted(self) -> list[dict[str, Any]]:
        """Records left `running` by an agent that stopped mid-action."""
        found = []
        for path in self.seen.glob("*.json"):
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if record.get("state") == "running":
                found.append(record)
        return found

    def prune(self, now: float | None = None) -> int:
        """Forget ids and nonces whose action expired more than the skew allowance ago: an envelope
        carrying them would be refused as expired anyway. Running actions and unsent outcomes stay."""
        now = time.time() if now is None else now
        removed = 0
        live_ids: set[str] = set()
        with self._lock:
            for path in self.seen.glob("*.json"):
                try:
                    record = json.loads(path.read_text())
                    expires = parse_time(record["expires_at"]).timestamp()
                except (OSError, ValueError, KeyError, TypeError, AttributeError):
                    continue
                pending = (self.outbox / path.name).exists()
                if record.get("state") == "running" or pending or expires + SKEW_SECONDS > now:
                    live_ids.add(str(record["id"]))
                    continue
                path.unlink(missing_ok=True)
                removed += 1
            for path in self.seen.glob("nonce-*"):
                try:
                    owner = path.read_text()
                except OSError:
                    continue
                if owner not in live_ids and not self._seen_path(owner).exists():
                    path.unlink(missing_ok=True)
        return removed

    # -- outbox -------------------------------------------------------------------------------------

    def put_outbox(self, action_id: str, item: dict[str, Any]) -> None:
        """`item`: {"kind": "result"|"refusal", "body": {...}, "artifact": path or None}."""
        with self._lock:
            item = {**item, "id": action_id, "queued_at": time.time(), "copy": os.urandom(8).hex()}
            write_atomic(self.outbox / f"{_safe(action_id)}.json", json.dumps(item).encode())

    def outbox_items(self) -> list[dict[str, Any]]:
        """Queued items, oldest first. Another thread may remove a file between the listing and the read
        (an acknowledgement on the shutdown flush): such an item is simply gone, not an error."""
        items = []
        for path in self.outbox.glob("*.json"):
            try:
                items.append((path.stat().st_mtime, json.loads(path.read_text())))
            except (OSError, ValueError):
                continue
        items.sort(key=lambda pair: pair[0])
        return [item for _, item in items]

    def update_outbox(self, action_id: str, item: dict[str, Any]) -> None:
        with self._lock:
            path = self.outbox / f"{_safe(action_id)}.json"
            if path.exists():
                write_atomic(path, json.dumps(item).encode())

    def remove_outbox(self, action_id: str, sent: dict[str, Any] | None = None) -> None:
        """Delete an acknowledged item; with `sent`, only if the file still holds that item (a duplicate
        delivery may have queued the outcome again while it was being sent: that one must go out too)."""
        with self._lock:
            path = self.outbox / f"{_safe(action_id)}.json"
            if sent is not None:
                try:
                    if json.loads(path.read_text()).get("copy") != sent.get("copy"):
                        return
                except (OSError, ValueError):
                    return
            path.unlink(missing_ok=True)

    def reject_outbox(self, action_id: str, answer: dict[str, Any]) -> None:
        path = self.outbox / f"{_safe(action_id)}.json"
        with self._lock:
            with contextlib.suppress(OSError, ValueError):
                item = json.loads(path.read_text())
                item["rejected_with"] = answer
                write_atomic(self.rejected / path.name, json.dumps(item).encode())
            path.unlink(missing_ok=True)

    def artifact_path(self, action_id: str) -> Path:
        return self.artifacts / f"{_safe(action_id)}.tar.gz"


def _safe(action_id: str) -> str:
    """An action id as a file name: ids are UUIDs; anything else is hashed so no id can name a path."""
    text = str(action_id)
    if text and len(text) <= 64 and all(c.isalnum() or c in "-_" for c in text):
        return text
    return "h-" + hashlib.sha256(text.encode()).hexdigest()
