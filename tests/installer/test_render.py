"""Config rendering on its own: HTTPS keys, secrets removed when no longer asked for, and idempotence."""

from __future__ import annotations

from pathlib import Path

import yaml

from installer.spec import InstallSpec
from installer.steps import configure
from tests.installer.distribution import SEATUNNEL_YAML


def shipped() -> dict:
    return yaml.safe_load(SEATUNNEL_YAML)


def test_https_keys(tmp_path: Path):
    spec = InstallSpec(
        version="2.3.12", prefix=tmp_path, https_port=8443, key_store="/etc/seatunnel/ks.p12", key_store_password="pw"
    )
    http = configure.seatunnel_yaml(spec, shipped())["seatunnel"]["engine"]["http"]
    assert http == {
        "enable-http": True, "port": 8080, "enable-dynamic-port": False, "enable-https": True, "https-port": 8443,
        "key-store-path": "/etc/seatunnel/ks.p12", "key-store-password": "pw", "key-manager-password": "pw",
    }  # fmt: skip
    assert configure.file_mode("seatunnel.yaml", spec) == 0o600


def test_a_rerender_without_auth_drops_the_auth_keys_and_keeps_the_rest(tmp_path: Path):
    with_auth = InstallSpec(version="2.3.12", prefix=tmp_path, basic_auth=("a", "b"))
    rendered = configure.seatunnel_yaml(with_auth, shipped())
    again = configure.seatunnel_yaml(InstallSpec(version="2.3.12", prefix=tmp_path), rendered)
    http = again["seatunnel"]["engine"]["http"]
    assert "enable-basic-auth" not in http and "basic-auth-password" not in http
    assert again["seatunnel"]["engine"]["history-job-expire-minutes"] == 1440  # shipped keys untouched
    assert configure.seatunnel_yaml(InstallSpec(version="2.3.12", prefix=tmp_path), again) == again
