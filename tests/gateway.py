"""A real HTTP gateway in a thread in front of an emulator: it forwards every request as it is, and can lose a
submit on the way (the connection is cut before the engine sees it) or list log files on members that do not
answer, as a cluster with a member down does (AllNodeLogServlet lists every member's files)."""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_LOG_LISTING = re.compile(r"^(?P<prefix>.*)/logs/(?P<job>\d+)\?(?:.*&)?format=json")


@dataclass
class Gateway:
    upstream: str
    port: int = 0
    lose_submits: int = 0  # this many submits are cut before they reach the engine
    down_members: list[str] = field(default_factory=list)  # host:port of members listed with a file, not answering
    only_down_members: bool = False  # list the job's file on the down members only
    submits_seen: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def gateway(upstream: str) -> Iterator[Gateway]:
    state = Gateway(upstream=upstream)
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if self.command == "POST" and "/submit-job" in self.path:
                state.submits_seen += 1
                if state.lose_submits > 0:
                    state.lose_submits -= 1
                    self.close_connection = True  # cut: the client hears nothing, the engine got nothing
                    return
            upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            headers["Host"] = self.headers.get("Host", "")  # the emulator builds log links from it
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            content = answer.read()
            listing = _LOG_LISTING.match(self.path)
            if listing and answer.status == 200 and (state.down_members or state.only_down_members):
                content = self._with_down_members(content, listing["prefix"])
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
            upstream.close()

        def _with_down_members(self, content: bytes, prefix: str) -> bytes:
            entries = json.loads(content)
            names = [e["logName"] for e in entries]
            extra = [
                {"node": node, "logLink": f"http://{node}{prefix}/logs/{name}", "logName": name}
                for node in state.down_members
                for name in names
            ]
            return json.dumps(extra if state.only_down_members else entries + extra).encode()

        do_GET = do_POST = _forward

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
