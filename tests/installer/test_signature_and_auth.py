"""The `.asc` check with real gpg against a KEYS file, and an install with REST basic auth that the health
check passes through."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from installer import errors, run
from installer.errors import InstallerError
from tests.installer.conftest import V1

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")


@pytest.fixture
def signer() -> Iterator[tuple[str, str]]:
    """A throw-away signing key: (GNUPGHOME, exported public KEYS text)."""
    home = tempfile.mkdtemp(prefix="g")  # short: gpg-agent's socket lives there
    env = {**os.environ, "GNUPGHOME": home}
    gpg = ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    subprocess.run(
        [*gpg, "--quick-gen-key", "Release Manager <rm@example.org>", "ed25519", "sign", "never"],
        env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    keys = subprocess.run(["gpg", "--armor", "--export"], env=env, check=True, capture_output=True, text=True).stdout
    try:
        yield home, keys
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


def sign(home: str, path: Path) -> None:
    subprocess.run(
        ["gpg", "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", "", "--armor", "--detach-sign",
         "--output", f"{path}.asc", str(path)],
        env={**os.environ, "GNUPGHOME": home}, check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def test_a_signed_release_is_verified_against_keys_and_a_bad_signature_refused(
    make_spec, prefix, archive, tmp_path, signer
):
    home, keys = signer
    local = tmp_path / "release"
    shutil.copytree(archive / V1, local)
    tarball = local / f"apache-seatunnel-{V1}-bin.tar.gz"
    keys_file = tmp_path / "KEYS"
    keys_file.write_text(keys)

    other = tmp_path / "other.txt"
    other.write_text("not the release")
    sign(home, other)
    shutil.copy(f"{other}.asc", f"{tarball}.asc")  # a valid signature, of another file
    with pytest.raises(InstallerError) as caught:
        run.install(make_spec(V1, source=str(tarball), keys=str(keys_file)))
    assert caught.value.code == errors.BAD_SIGNATURE and "Do not install it" in caught.value.hint
    assert not (prefix / "current").is_symlink()

    sign(home, tarball)
    result = run.install(make_spec(V1, source=str(tarball), keys=str(keys_file)))
    assert result["steps"]["verify"]["signature"] == "verified"
    assert result["steps"]["verify"]["signer"] == "Release Manager <rm@example.org>"


def test_basic_auth_is_configured_and_the_health_check_uses_it(make_spec, prefix):
    spec = make_spec(V1, basic_auth=("ops", "s3cret"))
    result = run.install(spec)
    assert result["steps"]["health"]["version"] == V1
    config = prefix / "current" / "config" / "seatunnel.yaml"
    http = yaml.safe_load(config.read_text())["seatunnel"]["engine"]["http"]
    assert (http["enable-basic-auth"], http["basic-auth-username"], http["basic-auth-password"]) == (
        True, "ops", "s3cret",
    )  # fmt: skip
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # it holds a password
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"http://127.0.0.1:{spec.http_port}/overview", timeout=5)
    assert caught.value.code == 401
    journal = prefix / ".installer" / "journal.json"
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600 and json.loads(journal.read_text())["status"] == "done"
