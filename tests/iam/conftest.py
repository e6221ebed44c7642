"""Fixtures for the identity tests: a real slapd and a fake OIDC provider for the session, a clean throttle
for every test."""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache

from tests.iam.fake_idp import FakeIdP
from tests.iam.slapd import Slapd, SlapdMissing


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory):
    server = Slapd(tmp_path_factory.mktemp("slapd"))
    try:
        server.start()
    except SlapdMissing as exc:
        # CI installs slapd, so there a missing one is a failure. On a newcomer's machine (`make test` needs
        # only Python, make and a C compiler) the LDAP tests say loudly why they did not run.
        if os.environ.get("CI"):
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(f"LDAP tests need a local slapd: {exc}")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def idp():
    provider = FakeIdP()
    provider.start()
    yield provider
    provider.stop()
