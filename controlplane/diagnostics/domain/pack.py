"""Writing one diagnostic archive: a tar.gz of the collected files under one top folder, a ``manifest.json`` (what,
from where, when, size and SHA-256 of every file, what could not be collected and why) and a ``SHA256SUMS`` in the
format ``sha256sum -c`` reads. Pure: files in, an archive file out."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class Entry:
    path: str  # inside the archive's top folder, "/"-separated
    data: bytes
    source: str  # where it came from: "agent:<node>", "engine:<endpoint>", "control-plane"


@dataclass(frozen=True)
class Packed:
    size: int
    sha256: str
    files: int
    manifest: dict[str, Any]


def pack(
    out: Path,
    *,
    top: str,
    entries: Iterable[Entry],
    manifest: Callable[[list[dict[str, Any]]], dict[str, Any]],
) -> Packed:
    """Write ``out`` atomically (a partial file renamed into place), one entry at a time: ``entries`` may be a
    generator, so at most one file is held in memory. ``manifest`` is called after the last entry with the list of
    files (path, source, size, sha256) and returns the manifest (it may name what the generator found on its way)."""
    files: list[dict[str, Any]] = []
    partial = out.with_name(out.name + ".partial")
    out.parent.mkdir(parents=True, exist_ok=True)
    mtime = int(time.time())

    def add(tar: tarfile.TarFile, path: str, data: bytes) -> None:
        info = tarfile.TarInfo(f"{top}/{path}")
        info.size, info.mtime, info.mode = len(data), mtime, 0o644
        tar.addfile(info, io.BytesIO(data))

    with tarfile.open(partial, "w:gz") as tar:
        for entry in entries:
            add(tar, entry.path, entry.data)
            files.append(
                {
                    "path": entry.path,
                    "source": entry.source,
                    "size": len(entry.data),
                    "sha256": hashlib.sha256(entry.data).hexdigest(),
                }
            )
        document = {"format": MANIFEST_FORMAT, **manifest(files), "files": files}
        manifest_bytes = json.dumps(document, indent=1, ensure_ascii=False).encode()
        sums = "".join(f"{f['sha256']}  {f['path']}\n" for f in files)
        sums += f"{hashlib.sha256(manifest_bytes).hexdigest()}  manifest.json\n"
        add(tar, "manifest.json", manifest_bytes)
        add(tar, "SHA256SUMS", sums.encode())
    digest, size = hashlib.sha256(), 0
    with open(partial, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
            size += len(block)
    os.replace(partial, out)
    return Packed(size=size, sha256=digest.hexdigest(), files=len(files) + 2, manifest=document)


def safe_member_name(name: str) -> str | None:
    """A bundle member's path made safe to place under a folder of ours: no absolute path, no ``..``; None when
    nothing is left."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return "/".join(parts) or None
