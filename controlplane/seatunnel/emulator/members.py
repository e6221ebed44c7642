"""The emulated cluster's member list, optionally read from a JSON file that may change while it runs.

Without a file the cluster has one hybrid member that is the master. With ``--members FILE.json`` the file is
read again on every request that needs the members (it is small), so a test can make nodes join, leave and come back:

    [{"address": "10.0.0.1:5801", "role": "master", "master": true},
     {"address": "10.0.0.2:5802", "role": "worker"}]

``role`` is master, worker or hybrid (default hybrid); ``master`` marks the Hazelcast master (default: the
first member). A file that cannot be read or parsed while running keeps the last good list.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROLES = ("master", "worker", "hybrid")
# SeaTunnel's ClusterRole names (ZETA_FACTS §2.3), as the newest engines render nodeRole.
NODE_ROLE = {"master": "MASTER", "worker": "WORKER", "hybrid": "MASTER_AND_WORKER"}


@dataclass(frozen=True)
class Member:
    host: str
    port: int
    role: str = "hybrid"
    master: bool = False

    @property
    def runs_tasks(self) -> bool:
        return self.role in ("worker", "hybrid")


def parse_members(data: Any) -> list[Member]:
    if not isinstance(data, list) or not data:
        raise ValueError("the members file holds a non-empty JSON list")
    members = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("address"), str):
            raise ValueError("each member is an object with an address")
        host, sep, port = item["address"].rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"address {item['address']!r} is not host:port")
        role = item.get("role", "hybrid")
        if role not in ROLES:
            raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
        members.append(Member(host=host, port=int(port), role=role, master=bool(item.get("master", False))))
    if not any(m.master for m in members):
        members[0] = Member(members[0].host, members[0].port, members[0].role, True)
    return members


class MemberList:
    def __init__(self, path: str | None = None, *, default_host: str = "127.0.0.1") -> None:
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        self._members = [Member(host=default_host, port=5801, role="hybrid", master=True)]
        if self.path is not None:
            self._members = parse_members(json.loads(self.path.read_text(encoding="utf-8")))

    def current(self) -> list[Member]:
        if self.path is None:
            return list(self._members)
        with self._lock:
            try:
                self._members = parse_members(json.loads(self.path.read_text(encoding="utf-8")))
            except (OSError, ValueError) as error:
                print(f"emulator: keeping the last member list: {error}", file=sys.stderr, flush=True)
            return list(self._members)
