"""Files beside the log, content-addressed under DATA_DIR: what agents upload for their actions
(``artifacts/<sha256>``, diagnostic bundles) and what they fetch by hash (``files/<sha256>``, a connector jar
named in an action's params)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from controlplane.errors import DomainError

SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_ARTIFACT_BYTES = 512 * 1024 * 1024
CHUNK = 1 << 20


def artifacts_dir() -> Path:
    return Path(settings.DATA_DIR) / "artifacts"


def files_dir() -> Path:
    return Path(settings.DATA_DIR) / "files"


def store_artifact(read: Callable[[int], bytes], sha256: str) -> int:
    """Stream an upload (``read(n)`` until it returns nothing) into the artifacts; returns its size. Refused:
    AGENT_ARTIFACT_TOO_LARGE past the limit, AGENT_ARTIFACT_HASH_MISMATCH when the bytes are not ``sha256``."""
    folder = artifacts_dir()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".upload-{os.getpid()}-{os.urandom(6).hex()}"
    hasher, size = hashlib.sha256(), 0
    try:
        with tmp.open("wb") as out:
            while chunk := read(CHUNK):
                size += len(chunk)
                if size > MAX_ARTIFACT_BYTES:
                    raise DomainError(
                        f"an artifact is at most {MAX_ARTIFACT_BYTES} bytes", code="AGENT_ARTIFACT_TOO_LARGE"
                    )
                hasher.update(chunk)
                out.write(chunk)
        if hasher.hexdigest() != sha256:
            raise DomainError("the body's SHA-256 is not X-Content-SHA256", code="AGENT_ARTIFACT_HASH_MISMATCH")
        os.replace(tmp, folder / sha256)  # content-addressed: the same bytes land on the same name
    finally:
        tmp.unlink(missing_ok=True)
    return size


def published_file(sha256: str) -> Path | None:
    """The file published for agents under this hash, or None."""
    if not SHA256.match(sha256):
        return None
    target = files_dir() / sha256
    return target if target.is_file() else None
