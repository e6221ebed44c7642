"""The embedded Celery broker: kombu's filesystem transport, with atomic publishes and a reader that survives
a bad message file (docs/adr/0025-embedded-broker-atomic-files.md).

Layout under the broker folder (``<data dir>/broker``): ``queue/`` holds one file per queued message, and only
complete ones; ``tmp/`` holds publishes being written; ``processed/`` holds a message a worker has claimed
until it is read; ``dead/`` holds message files that could not be decoded; ``control/`` holds the exchange
tables (which queues an exchange routes to). All five must be on one filesystem: a rename is the commit.

Celery is pointed at it with ``broker_transport = TRANSPORT`` and ``broker_transport_options =
transport_options(broker_dir)`` (controlplane/settings.py).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

#: Celery's ``broker_transport`` (kombu resolves "module:Class").
TRANSPORT = "controlplane.filesystem_broker:Transport"
FOLDERS = ("queue", "tmp", "processed", "dead", "control")
#: The transport options that name a folder (controlplane/health.py checks each is writable).
FOLDER_OPTIONS = (
    "data_folder_in",
    "data_folder_out",
    "tmp_folder",
    "processed_folder",
    "dead_letter_folder",
    "control_folder",
)


def transport_options(broker_dir: Path) -> dict[str, Any]:
    """Celery's ``broker_transport_options`` for a broker kept in ``broker_dir``; its folders are created."""
    for name in FOLDERS:
        (broker_dir / name).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(broker_dir / "queue"),
        "data_folder_out": str(broker_dir / "queue"),
        "tmp_folder": str(broker_dir / "tmp"),
        "processed_folder": str(broker_dir / "processed"),
        "dead_letter_folder": str(broker_dir / "dead"),
        # Fanout exchange tables (worker remote control); kombu's default is ./control in the cwd.
        "control_folder": str(broker_dir / "control"),
        "store_processed": False,
    }


def dead_letters(options: dict[str, Any]) -> list[str]:
    """Names of the message files in the dead-letter folder, oldest first."""
    folder = options.get("dead_letter_folder")
    if not folder:
        return []
    try:
        return sorted(os.listdir(folder))
    except FileNotFoundError:
        return []


def _write_atomically(data: bytes, destination: Path, tmp_folder: Path) -> None:
    """Write ``data`` to a file in ``tmp_folder``, flush it to disk, then rename it to ``destination``.

    A reader of the destination's folder sees the whole file or nothing (kombu issue #1551: its transport writes
    in place, so a reader could take a file still empty). The folder is synced too, so a published message
    survives a power loss as the SQLite database's commits do (ADR 0003)."""
    descriptor, temporary = tempfile.mkstemp(dir=tmp_folder, suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(destination.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class Channel(filesystem.Channel):
    """kombu's filesystem channel with the three writes made atomic and undecodable messages set aside."""

    # kombu's filesystem channel already renamed the base's `message` to `payload`; we keep its name.
    def _put(self, queue: str, payload: dict, **kwargs: Any) -> None:  # type: ignore[override]
        # A zero-padded wall-clock stamp: names sort in publish order, across restarts too (kombu's unpadded
        # monotonic milliseconds do neither). Readers match only the ".<queue>.msg" part, as kombu's do.
        name = f"{time.time_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        data = str_to_bytes(dumps(payload))
        try:
            _write_atomically(data, Path(self.data_folder_out) / name, self.tmp_folder)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to {self.data_folder_out}: {exc}") from exc

    def _get(self, queue: str, timeout: float | None = None) -> dict:
        # The folder is listed once per batch, not once per message (kombu lists and sorts it on every get): with
        # a backlog of tens of thousands of files that listing, not the tasks, was what the worker spent its time on.
        names = self._listed.get(queue)
        fresh = not names
        if fresh:
            names = self._listed[queue] = self._list(queue)
        while True:
            while names:
                payload = self._take(names.popleft())
                if payload is not None:
                    return payload
            if fresh:
                raise Empty()
            names, fresh = self._list(queue), True  # the batch is used up: what came meanwhile
            self._listed[queue] = names

    def _list(self, queue: str) -> deque[str]:
        """The queue's message files, oldest first."""
        wanted = f"{queue}.msg"
        return deque(sorted(name for name in os.listdir(self.data_folder_in) if name.partition(".")[2] == wanted))

    def _take(self, name: str) -> dict | None:
        """The message in file ``name``, now ours; None when another worker took it or it was set aside."""
        claimed = Path(self.processed_folder) / name
        try:
            # The rename is the claim: of several workers exactly one gets the file.
            os.rename(Path(self.data_folder_in) / name, claimed)
        except FileNotFoundError:
            return None  # another worker took it
        except OSError as exc:
            raise ChannelError(f"Cannot claim message file {name!r}: {exc}") from exc
        try:
            raw = claimed.read_bytes()
        except OSError as exc:
            raise ChannelError(f"Cannot read message file {str(claimed)!r}: {exc}") from exc
        payload, problem = self._decode(raw)
        if payload is None:
            self._bury(claimed, problem)
            return None  # one bad file must not stop the worker: the next message is delivered
        if not self.store_processed:
            claimed.unlink()
        return payload

    def _decode(self, raw: bytes) -> tuple[dict | None, str]:
        """The message in ``raw``, or None and why it cannot be delivered (what would raise in the worker's loop)."""
        if not raw:
            return None, "empty file"
        try:
            payload = loads(bytes_to_str(raw))
            # Building the message is the check: it needs a JSON object with properties and a delivery tag,
            # and a body in its declared encoding.
            self.Message(payload, channel=self)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return None, f"{type(exc).__name__}: {exc} ({len(raw)} bytes)"
        return payload, ""

    def _bury(self, claimed: Path, problem: str) -> None:
        grave = self.dead_letter_folder / claimed.name
        try:
            os.replace(claimed, grave)
        except OSError as exc:
            logger.warning("broker: message file %s not delivered (%s); left there: %s", claimed, problem, exc)
            return
        logger.warning("broker: message file %s not delivered (%s); moved to %s", claimed.name, problem, grave)

    @cached_property
    def _listed(self) -> dict[str, deque[str]]:
        """Per queue, the names of the last listing not yet taken."""
        return {}

    # Exchange tables: replaced whole under a lock, never rewritten in place, so get_table (a plain read, as in
    # kombu) never sees half a table. kombu's own writer creates the file empty before it locks it.

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._change_table(exchange, lambda table: table if binding in table else [binding, *table])

    def _delete(self, queue: str, exchange: str, routing_key: str, pattern: str, *args: Any, **kwargs: Any) -> None:
        virtual.Channel._delete(self, queue)  # the base purges; kombu's filesystem override rewrites in place
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._change_table(exchange, lambda table: [entry for entry in table if entry != binding])

    def _change_table(self, exchange: str, change: Callable[[list], list]) -> None:
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(exist_ok=True)
        try:
            with open(f"{file}.lock", "ab") as guard:
                filesystem.lock(guard, filesystem.LOCK_EX)  # one writer per table: read, change, replace
                table = self.get_table(exchange)
                changed = change(table)
                if changed != table:
                    _write_atomically(str_to_bytes(dumps(changed)), file, self.tmp_folder)
        except OSError as exc:
            raise ChannelError(f"Cannot update {file}: {exc}") from exc

    @property
    def tmp_folder(self) -> Path:
        return Path(self.transport_options.get("tmp_folder") or Path(self.data_folder_out).parent / "tmp")

    @property
    def dead_letter_folder(self) -> Path:
        return Path(self.transport_options.get("dead_letter_folder") or Path(self.data_folder_in).parent / "dead")


class Transport(filesystem.Transport):
    """kombu's filesystem transport with our channel (Celery's ``broker_transport``)."""

    Channel = Channel
    global_state = virtual.BrokerState()  # not shared with kombu's own filesystem transport in one process
