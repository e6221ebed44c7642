"""A database of a test's own for a control plane it runs as processes (e2e and browser tests)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit


def private_database_url(directory: Path, purpose: str) -> str:
    """SQLite in the test's directory, or, when the matrix names a server, a database beside that one named by
    ``purpose`` and the xdist worker, so that no two tests running at once share one."""
    url = os.environ.get("CONTROLPLANE_DATABASE_URL", "")
    if not url or url.startswith("sqlite"):
        return f"sqlite:///{directory / 'controlplane.sqlite3'}"
    parts = urlsplit(url)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{unquote(parts.path.lstrip('/'))}_{purpose}_{worker}"
    return parts._replace(path="/" + quote(name, safe="")).geturl()
