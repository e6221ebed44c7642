"""The app is ``controlplane.secrets`` (label ``secrets``); a bare ``import secrets`` stays the standard library."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from django.apps import apps

import controlplane.config
import controlplane.secrets

ROOT = Path(__file__).resolve().parents[2]


def test_import_secrets_is_the_standard_library():
    import secrets

    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(secrets.__file__).resolve().parent == stdlib
    assert controlplane.config.secrets is secrets
    assert len(controlplane.config.secrets.token_urlsafe(16)) > 10
    assert controlplane.secrets is not secrets
    assert apps.get_app_config("secrets").name == "controlplane.secrets"


def test_config_generates_its_secret_key_with_the_stdlib(tmp_path, monkeypatch):
    monkeypatch.delenv("CONTROLPLANE_SECRET_KEY", raising=False)
    key = controlplane.config.secret_key(tmp_path, "sqlite")
    assert len(key) >= 50 and (tmp_path / "secret_key").read_text().strip() == key


def test_a_fresh_interpreter_gets_the_stdlib_after_importing_the_app():
    code = (
        "import django; django.setup(); import controlplane.secrets.actions, secrets, controlplane.config as c; "
        "assert secrets.token_hex(4) and c.secrets is secrets and 'controlplane' not in secrets.__file__"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "controlplane.settings"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
