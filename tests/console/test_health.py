"""/healthz and /readyz through Django's test client, against the real broker connection code."""

from __future__ import annotations

import socket
import time
from contextlib import contextmanager

import pytest
from django.test import override_settings

from controlplane import filesystem_broker
from controlplane.celery import app as celery_app


@contextmanager
def redis_broker(url: str):
    """Point settings and the Celery app (which caches its broker config) at a Redis URL, then restore."""
    keys = ("broker_url", "broker_write_url", "broker_transport", "broker_transport_options")
    saved = {key: celery_app.conf.get(key) for key in keys}
    # broker_transport too: the embedded default names its own transport class, which would take a Redis URL
    celery_app.conf.update(broker_url=url, broker_write_url=None, broker_transport=None, broker_transport_options={})
    try:
        with override_settings(REDIS_URL=url, CELERY_BROKER_URL=url):
            yield
    finally:
        celery_app.conf.update(saved)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_answers(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_ready_with_the_configured_broker(client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}
    assert body["broker"] == ("redis" if settings.REDIS_URL else "filesystem")


@pytest.mark.django_db
@pytest.mark.skipif(not redis_answers(), reason="no Redis answering on 127.0.0.1:6379")
def test_readyz_ready_with_redis(client):
    with redis_broker("redis://127.0.0.1:6379/0"):
        response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["broker"] == "redis"


@pytest.mark.django_db
def test_readyz_503_when_redis_port_is_closed(client):
    port = closed_port()
    with redis_broker(f"redis://127.0.0.1:{port}/0"):
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("broker unreachable:")
    assert f"127.0.0.1:{port}" in body["checks"]["broker"]
    assert elapsed < 1.5, f"a refused connection took {elapsed:.1f} s"


@pytest.mark.django_db
def test_readyz_503_within_about_a_second_when_redis_is_silent(client):
    """A host that accepts TCP but never answers (a hung Redis, a black-holing firewall) must not hang the probe."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        with redis_broker(f"redis://127.0.0.1:{port}/0"):
            started = time.monotonic()
            response = client.get("/readyz")
            elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert "broker unreachable" in response.json()["checks"]["broker"]
    assert elapsed < 3, f"the probe took {elapsed:.1f} s"


@pytest.mark.django_db
def test_readyz_503_when_the_filesystem_broker_folder_is_missing(client, tmp_path):
    missing = str(tmp_path / "gone")
    options = {"data_folder_in": missing, "data_folder_out": missing, "control_folder": str(tmp_path)}
    with override_settings(REDIS_URL=None, CELERY_BROKER_TRANSPORT_OPTIONS=options):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert (
        response.json()["checks"]["broker"]
        == f"broker unreachable: data_folder_in {missing} is missing or not writable"
    )
    assert response.json()["broker"] == "filesystem"


@pytest.mark.django_db
def test_readyz_503_when_migrations_are_missing(client, monkeypatch):
    from controlplane import health

    monkeypatch.setattr(health, "_migrations", lambda: "1 migration(s) not applied: tenancy.0002_x")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 migration(s) not applied: tenancy.0002_x"


def test_static_files_are_served_without_debug(client, settings, tmp_path):
    assert settings.DEBUG is False and settings.SERVE_STATIC is True
    (tmp_path / "admin" / "css").mkdir(parents=True)
    (tmp_path / "admin" / "css" / "base.css").write_text("body { color: black }")
    settings.STATIC_ROOT = tmp_path
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"".join(response.streaming_content) == b"body { color: black }"
    assert client.get("/static/admin/css/missing.css").status_code == 404
    client.raise_request_exception = False
    assert client.get("/static/../secret_key").status_code == 400  # SuspiciousFileOperation, not the file


@pytest.mark.django_db
def test_readyz_counts_dead_letters_and_stays_ready(client, tmp_path):
    """A message file the worker could not decode does not make the broker unusable: it is counted, not failed."""
    options = filesystem_broker.transport_options(tmp_path / "broker")
    (tmp_path / "broker" / "dead" / "00000000000000000001_x.celery.msg").write_bytes(b"")
    with override_settings(REDIS_URL=None, CELERY_BROKER_TRANSPORT_OPTIONS=options):
        response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["broker"] == "ok"
    assert response.json()["dead_letters"] == 1


@pytest.mark.django_db
def test_readyz_503_when_the_filesystem_broker_cannot_stage_a_publish(client, tmp_path):
    options = filesystem_broker.transport_options(tmp_path / "broker")
    (tmp_path / "broker" / "tmp").rmdir()
    with override_settings(REDIS_URL=None, CELERY_BROKER_TRANSPORT_OPTIONS=options):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == (
        f"broker unreachable: tmp_folder {tmp_path / 'broker' / 'tmp'} is missing or not writable"
    )
