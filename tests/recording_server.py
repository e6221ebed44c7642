"""A real HTTP server in a thread that records every request and gives one canned answer: a stand-in for
whatever an endpoint a user names may be (an internal service, a metadata server)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    port: int
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, Host header)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def recording_server(
    status: int = 200, body: bytes = b"{}", content_type: str = "application/json", host: str = "127.0.0.1"
) -> Iterator[Recorded]:
    recorded = Recorded(port=0)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            recorded.requests.append((self.command, self.path, self.headers.get("Host", "")))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    recorded.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorded
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
