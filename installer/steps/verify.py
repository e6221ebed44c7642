"""Verify the tarball: its SHA-512 against the `.sha512` file (parsed tolerantly) and, when gpg is there, its
`.asc` signature against the project's KEYS. A signature that was not checked is said plainly, never implied.

A bad checksum removes the downloaded file (a fresh run fetches it again) and changes nothing else.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from installer import errors
from installer.errors import InstallerError
from installer.spec import KEYS_URL
from installer.steps import Context, fetch

_HEX = re.compile(r"[0-9a-fA-F]+")


def parse_sha512(text: str) -> str | None:
    """The SHA-512 digest in a checksum file, whatever its layout: `hash`, `hash  filename` (sha512sum),
    `SHA512(file)= hash` (openssl), `file: HASH HASH ...` split over lines in groups (gpg --print-md), upper
    or lower case. Returns 128 lower-case hex digits, or None."""
    body = text
    if "=" in body and body.upper().lstrip().startswith("SHA512"):
        body = body.split("=", 1)[1]
    elif ":" in body.split("\n", 1)[0] and len(_HEX.sub("", body.split(":", 1)[0]).strip()) > 0:
        # gpg --print-md: `apache-seatunnel-2.3.12-bin.tar.gz: 8F2A 91C0 ...` over several lines
        body = body.split(":", 1)[1]
    # sha512sum's `hash  filename`: the digest is the first run of hex; gpg's groups are joined back.
    digits = ""
    for token in re.split(r"\s+", body.strip()):
        if _HEX.fullmatch(token):
            digits += token
            if len(digits) >= 128:
                break
        elif digits:
            break
    digits = digits.lower()
    return digits if len(digits) == 128 else None


def sha512_of(path: Path, ctx: Context | None = None) -> str:
    digest = hashlib.sha512()
    total = path.stat().st_size
    done = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            done += len(chunk)
            if ctx is not None:
                ctx.reporter.progress("verify", done, total)
    return digest.hexdigest()


def _expected(ctx: Context, fetched: dict[str, Any]) -> tuple[str, str]:
    if ctx.spec.sha512:
        given = Path(ctx.spec.sha512)
        text = given.read_text() if given.is_file() else ctx.spec.sha512
        where = str(given) if given.is_file() else "--sha512"
    elif fetched.get("sha512"):
        where = fetched["sha512"]
        text = Path(where).read_text()
    else:
        raise InstallerError(
            errors.CHECKSUM_MISSING,
            f"No .sha512 file beside {fetched['path']} and no --sha512 given.",
            "Put the release's .sha512 file beside the tarball or pass --sha512 with the digest; the installer "
            "does not install an unverified tarball.",
        )
    digest = parse_sha512(text)
    if digest is None:
        raise InstallerError(
            errors.CHECKSUM_MISSING,
            f"{where} holds no SHA-512 digest (128 hex digits).",
            "Fetch the release's .sha512 file again.",
        )
    return digest, where


def check_signature(ctx: Context, tarball: Path, asc: str | None) -> dict[str, Any]:
    if asc is None:
        return {"signature": "not checked: no .asc file beside the tarball"}
    if shutil.which("gpg") is None:
        return {"signature": "not checked: gpg is not installed"}
    try:
        import gnupg
    except ImportError:
        return {"signature": "not checked: python-gnupg is not installed"}
    keys_source = ctx.spec.keys or KEYS_URL
    if keys_source.startswith(("http://", "https://")):
        try:
            keys = fetch.fetch_text(keys_source)
        except InstallerError as error:
            return {"signature": f"not checked: the KEYS file could not be fetched ({error.message})"}
        if keys is None:
            return {"signature": f"not checked: {keys_source} does not exist"}
    else:
        keys = Path(keys_source).read_text()
    with tempfile.TemporaryDirectory(prefix="seatunnel-gpg-") as home:
        gpg = gnupg.GPG(gnupghome=home)
        imported = gpg.import_keys(keys)
        if not imported.count:
            return {"signature": f"not checked: no keys could be imported from {keys_source}"}
        with open(asc, "rb") as signature:
            verified = gpg.verify_file(signature, str(tarball))
        gpgconf = shutil.which("gpgconf")
        if gpgconf:  # an agent gpg may have started for this home goes with it
            subprocess.run(  # noqa: S603 - fixed argv
                [gpgconf, "--homedir", home, "--kill", "all"],
                capture_output=True,
                timeout=10,
                check=False,
            )
    if not verified.valid:
        raise InstallerError(
            errors.BAD_SIGNATURE,
            f"The signature {asc} does not verify {tarball.name} against {keys_source} ({verified.status}).",
            "Do not install it: download the release again from an Apache mirror.",
        )
    return {"signature": "verified", "signer": verified.username, "key_id": verified.key_id}


def run(ctx: Context) -> dict[str, Any]:
    fetched = ctx.results["fetch"]
    tarball = Path(fetched["path"])
    if not tarball.exists() and not fetched.get("local"):
        # A resume after a bad checksum (which deleted the download), or downloads/ cleaned meanwhile.
        fetched = ctx.results["fetch"] = fetch.run(ctx)
        tarball = Path(fetched["path"])
    expected, where = _expected(ctx, fetched)
    actual = sha512_of(tarball, ctx)
    if actual != expected:
        if not fetched.get("local"):
            tarball.unlink(missing_ok=True)  # a fresh run downloads it again
        raise InstallerError(
            errors.BAD_CHECKSUM,
            f"{tarball.name} has SHA-512 {actual[:16]}…, but {where} says {expected[:16]}….",
            "The file is corrupt or not the release: download it again (from another mirror if it repeats).",
            actual=actual,
            expected=expected,
        )
    result = {"sha512": actual, "checked_against": where}
    result.update(check_signature(ctx, tarball, fetched.get("asc")))
    if result["signature"] != "verified":
        ctx.reporter.note(f"verify: the checksum matches; the signature was {result['signature']}")
    return result
