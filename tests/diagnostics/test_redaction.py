"""The control plane's redaction of what an archive holds, on the real job configs of ../shared/seatunnel/configs:
every secret value is gone (as HOCON text, and as the JSON tree the same config parses to), the rest is kept."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from controlplane.diagnostics.domain.redaction import MASK, redact_json_bytes, redact_member, redact_value
from controlplane.seatunnel.config.parse import load

CONFIGS = sorted((Path(__file__).resolve().parents[3] / "shared" / "seatunnel" / "configs").glob("*"))
SECRET_LINE = re.compile(r"""^\s*(?:password|passwd)\s*[=:]\s*"([^"]+)"\s*$""", re.MULTILINE | re.IGNORECASE)


def secrets_in(text: str) -> list[str]:
    return SECRET_LINE.findall(text)


def test_the_shared_configs_hold_passwords_to_hide():
    assert sum(len(secrets_in(p.read_text())) for p in CONFIGS) >= 4


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_a_real_job_config_loses_its_passwords_and_keeps_the_rest(path):
    text = path.read_text()
    redacted = redact_member(f"config/{path.name}", text.encode()).decode()
    for secret in secrets_in(text):
        assert secret not in redacted
    assert redacted.count(MASK) >= len(secrets_in(text))
    assert len(redacted.splitlines()) == len(text.splitlines())  # line numbers kept for the reader
    if 'driver = "com.mysql.cj.jdbc.Driver"' in text:
        assert "jdbc:mysql://" in redacted and 'driver = "com.mysql.cj.jdbc.Driver"' in redacted


@pytest.mark.parametrize("path", [p for p in CONFIGS if p.suffix == ".conf"], ids=lambda p: p.name)
def test_the_same_config_as_one_line_json_loses_them_too(path):
    text = path.read_text()
    _, tree = load(text)
    one_line = json.dumps(tree).encode()
    redacted = redact_json_bytes(one_line).decode()
    for secret in secrets_in(text):
        assert secret not in redacted
    assert json.loads(redacted)["sink"][0]["plugin_name"] == tree["sink"][0]["plugin_name"]


def test_values_of_any_type_under_secret_keys_and_secrets_inside_strings():
    value = {
        "env": {"access_key": 12345, "enable-basic-auth": True, "token": ""},
        "source": [{"url": "jdbc:mysql://root:hunter2@db:3306/x", "api-key": ["a", "b"]}],
        "log": "connect with password=s3cr3t-pw failed",
    }
    masked = json.dumps(redact_value(value))
    for secret in ("12345", "hunter2", '"a"', "s3cr3t-pw"):
        assert secret not in masked
    assert redact_value(value)["env"]["enable-basic-auth"] is True  # a switch is no secret
    assert redact_value(value)["env"]["token"] == ""


def test_bytes_that_are_not_text_are_kept():
    blob = b"\x00\x01\x02password=x"
    assert redact_member("heap.bin", blob) == blob
