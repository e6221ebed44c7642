"""Fetch the distribution tarball (and its `.sha512` and `.asc` siblings) into `<prefix>/downloads/`.

From the Apache archive (the real pattern: https://archive.apache.org/dist/seatunnel/<ver>/apache-seatunnel-
<ver>-bin.tar.gz), a mirror laid out the same way, any http(s) URL, or a local file (air-gapped sites; it is
read in place, not copied). A download goes to `<name>.part` and resumes with an HTTP Range request from where
an interrupted one stopped; only a complete file is renamed to its final name.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from installer import errors
from installer.errors import InstallerError
from installer.steps import Context

CHUNK = 1 << 16
TIMEOUT = 30.0
USER_AGENT = "seatunnel-installer"


def _open(url: str, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})  # noqa: S310
    return urllib.request.urlopen(request, timeout=TIMEOUT)  # noqa: S310 - http(s) URLs the operator chose


def download(url: str, dest: Path, ctx: Context | None = None, *, name: str = "fetch") -> dict[str, Any]:
    """Download `url` to `dest` through `dest.part`, resuming a partial file; 404 is UNKNOWN_VERSION."""
    if dest.exists():
        return {"path": str(dest), "bytes": dest.stat().st_size, "already": True}
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        response = _open(url, headers)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # the .part is already whole
            os.replace(part, dest)
            return {"path": str(dest), "bytes": have, "resumed_from": have}
        if error.code == 404:
            raise InstallerError(
                errors.UNKNOWN_VERSION,
                f"{url} does not exist (404).",
                "Check the version (https://seatunnel.apache.org/download lists releases; older ones are on "
                "archive.apache.org), or pass --source with the tarball's URL or a local file.",
                url=url,
            ) from None
        raise InstallerError(
            errors.FETCH_FAILED, f"{url} answered {error.code} {error.reason}.", "Try again, or use --mirror/--source."
        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise InstallerError(
            errors.FETCH_FAILED,
            f"Cannot reach {url}: {reason}.",
            "Check the network and proxy, or download the tarball elsewhere and pass it with --source FILE.",
            url=url,
        ) from None
    with response:
        resumed = have if response.status == 206 else 0
        mode = "ab" if resumed else "wb"
        length = response.headers.get("Content-Length")
        total = int(length) + resumed if length and length.isdigit() else None
        done = resumed
        # Unbuffered, and read1: what arrived is on disk at once, so a killed run resumes from there.
        with open(part, mode, buffering=0) as out:
            while True:
                try:
                    chunk = response.read1(CHUNK)
                except OSError as error:
                    raise InstallerError(
                        errors.FETCH_FAILED,
                        f"The download of {url} broke off after {done} bytes: {error}.",
                        "Run again with --resume: it continues from there.",
                    ) from None
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if ctx is not None:
                    ctx.reporter.progress(name, done, total)
            os.fsync(out.fileno())
    if total is not None and done != total:
        raise InstallerError(
            errors.FETCH_FAILED,
            f"The download of {url} ended at {done} of {total} bytes.",
            "Run again with --resume: it continues from there.",
        )
    os.replace(part, dest)
    return {"path": str(dest), "bytes": done, "resumed_from": resumed}


def fetch_text(url: str) -> str | None:
    """A small sibling file (.sha512, .asc, KEYS): its text, or None when it does not exist (404)."""
    try:
        with _open(url) as response:
            data: bytes = response.read(1 << 20)
            return data.decode(errors="replace")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise InstallerError(
            errors.FETCH_FAILED, f"{url} answered {error.code} {error.reason}.", "Try again, or use --mirror/--source."
        ) from None
    except (urllib.error.URLError, OSError) as error:
        raise InstallerError(
            errors.FETCH_FAILED, f"Cannot reach {url}: {getattr(error, 'reason', error)}.", "Check the network."
        ) from None


def run(ctx: Context) -> dict[str, Any]:
    spec = ctx.spec
    local = spec.local_file()
    if local is not None:
        if not local.is_file():
            raise InstallerError(
                errors.UNKNOWN_VERSION,
                f"The source file {local} does not exist.",
                f"Give the path of {spec.tarball_name}, or leave --source out to download it.",
            )
        result: dict[str, Any] = {"path": str(local), "bytes": local.stat().st_size, "local": True}
        for suffix in (".sha512", ".asc"):
            sibling = Path(str(local) + suffix)
            result[suffix[1:]] = str(sibling) if sibling.exists() else None
        return result
    url = spec.tarball_url()
    assert url is not None
    dest = ctx.layout.downloads / url.rsplit("/", 1)[1]
    # The small siblings first (a missing one is noted; verify refuses without a checksum), then the tarball.
    siblings: dict[str, Any] = {}
    for suffix in (".sha512", ".asc"):
        target = Path(str(dest) + suffix)
        if not target.exists():
            text = fetch_text(url + suffix)
            if text is None:
                siblings[suffix[1:]] = None
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        siblings[suffix[1:]] = str(target)
    result = download(url, dest, ctx)
    result.update(siblings)
    result["url"] = url
    return result
