"""How the control plane reaches a cluster besides its endpoints: per-cluster call timeouts, separate v1 endpoints,
versions it cannot drive, and TLS (a CA bundle, a client certificate from secrets, or an audited verify off),
against real emulator processes and a real local HTTPS server."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.contrib.auth.models import User
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from controlplane.clusters import actions as clusters
from controlplane.clusters.connect import client_for
from controlplane.clusters.domain.aggregate import ClusterError
from controlplane.clusters.models import Cluster
from controlplane.eventlog.metadata import Metadata
from controlplane.eventlog.models import Event
from controlplane.eventlog.types import decode
from controlplane.iam import actions as iam
from controlplane.seatunnel.client import ZetaError
from controlplane.seatunnel.emulator.process import emulator_process
from controlplane.secrets import actions as secrets
from controlplane.tenancy import actions as tenancy
from controlplane.tenancy.models import Tenant

pytestmark = pytest.mark.django_db

META = Metadata.for_system(None, reason="tests")


@pytest.fixture
def place():
    tenant = tenancy.do_create_tenant(metadata=META, name="Acme", slug="acme")
    workspace = tenancy.do_create_workspace(metadata=META, tenant_id=tenant, name="ETL", slug="etl")

    def register(endpoints: list[str], **settings: object) -> Cluster:
        cluster_id = clusters.do_register_cluster(
            metadata=META,
            tenant_id=tenant,
            workspace_id=workspace,
            name="zeta",
            form="bare_metal",
            mode="hybrid",
            endpoints=endpoints,
            **settings,
        )
        return Cluster.unscoped.get(id=cluster_id)

    def secret(name: str, value: str) -> str:
        return secrets.do_create_secret(metadata=META, tenant_id=tenant, workspace_id=workspace, name=name, value=value)

    return register, secret


def closed_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


# -- timeouts --------------------------------------------------------------------------------------------------
def test_timeouts_are_kept_with_the_cluster_and_given_to_its_client(place):
    register, _ = place
    with emulator_process() as zeta:
        cluster = register([zeta.url], timeouts={"submit": 600, "connect": 2.5})
        assert cluster.timeouts == {"connect": 2.5, "submit": 600.0}
        with client_for(cluster, timeout=4.0) as client:
            assert (client.timeouts.connect, client.timeouts.submit) == (2.5, 600.0)  # the cluster's
            assert (client.timeouts.read, client.timeouts.stop, client.timeouts.logs) == (4.0, 4.0, 60.0)  # defaults
        clusters.do_update_cluster(metadata=META, cluster=cluster, changes={"timeouts": {"logs": 120}})
        cluster.refresh_from_db()
        assert cluster.timeouts == {"logs": 120.0}
        event = Event.objects.filter(event_type="clusters.cluster_updated").latest("position")
        assert json.loads(event.payload)["changes"] == {"timeouts": {"logs": 120.0}}


@pytest.mark.parametrize(
    ("timeouts", "field"),
    [
        ({"submit": 1}, "timeouts.submit"),
        ({"connect": 61}, "timeouts.connect"),
        ({"read": True}, "timeouts.read"),
        ({"socket": 5}, "timeouts.socket"),
    ],
)
def test_timeouts_out_of_range_are_refused_with_a_stable_code(place, timeouts, field):
    register, _ = place
    with pytest.raises(ClusterError) as info:
        register([closed_url()], timeouts=timeouts)  # refused before anything is sent
    assert (info.value.code, info.value.details["field"]) == ("CLUSTER_TIMEOUTS_INVALID", field)


def test_clusters_registered_before_these_settings_read_with_the_defaults():
    payload = {
        "cluster_id": "c1",
        "tenant_id": "t",
        "workspace_id": "w",
        "name": "old",
        "form": "bare_metal",
        "mode": "hybrid",
        "engine_version": "2.3.12",
        "endpoints": ["http://zeta:8080"],
        "context_path": "",
        "auth_secret": "",
        "labels": {},
    }
    event = decode("clusters.cluster_registered", 1, payload)
    assert (event.v1_endpoints, event.timeouts, event.tls_verify, event.tls_ca_secret) == ([], {}, True, "")


# -- versions and v1 endpoints ---------------------------------------------------------------------------------
def test_a_cluster_too_old_to_drive_is_refused(place):
    register, _ = place
    with emulator_process("--version", "2.3.5") as zeta:
        with pytest.raises(ZetaError) as info:
            register([zeta.url])
    assert info.value.code == "ZETA_UNSUPPORTED_VERSION"
    assert info.value.message == "the cluster runs a SeaTunnel version the control plane cannot drive"
    assert info.value.details["needed"] == "2.3.6"
    assert not Cluster.unscoped.exists()


def test_a_2_3_8_cluster_is_reached_on_its_separate_v1_endpoints(place):
    register, _ = place
    rest_v2 = closed_url()  # 2.3.8 has no REST v2: nothing answers where a newer one would
    with emulator_process("--version", "2.3.8") as member:  # the v1 REST on the member port
        with pytest.raises(ZetaError) as info:
            register([rest_v2])
        assert info.value.code == "ZETA_UNREACHABLE"
        cluster = register([rest_v2], v1_endpoints=[member.url])
        assert (cluster.engine_version, cluster.v1_endpoints) == ("2.3.8", [member.url])
        with client_for(cluster) as client:
            assert client.running_jobs() == [] and client.api == "v1"


# -- TLS -------------------------------------------------------------------------------------------------------
def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class Authority:
    """A CA made for the test, and certificates it signs."""

    def __init__(self, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, name: str, *, server: bool) -> tuple[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH if server else x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
            )
        cert = builder.sign(self.key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM).decode(), _pem_key(key)


OVERVIEW = {
    "projectVersion": "2.3.12",
    "gitCommitAbbrev": "abc",
    "totalSlot": "0",
    "unassignedSlot": "0",
    "workers": "1",
    "runningJobs": "0",
    "finishedJobs": "0",
    "failedJobs": "0",
    "cancelledJobs": "0",
}


@contextmanager
def https_overview(tmp_path: Path, server_ca: Authority, client_ca: Authority | None = None) -> Iterator[str]:
    """A real HTTPS server answering /overview like a 2.3.12 cluster; with client_ca it wants a client certificate
    that CA signed."""
    cert, key = server_ca.issue("zeta", server=True)
    (tmp_path / "server.pem").write_text(cert + key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem")
    if client_ca is not None:
        (tmp_path / "clients.pem").write_text(client_ca.pem)
        context.load_verify_locations(tmp_path / "clients.pem")
        context.verify_mode = ssl.CERT_REQUIRED
    body = json.dumps(OVERVIEW).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/overview" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class TlsServer(ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self):  # type: ignore[no-untyped-def]
            sock, address = super().get_request()
            return context.wrap_socket(sock, server_side=True), address

        def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
            pass  # refused handshakes are what some tests are about

    server = TlsServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_cluster_is_verified_with_its_own_ca_and_presents_its_client_certificate(place, tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    register, secret = place
    server_ca, client_ca, stranger = Authority("zeta ca"), Authority("clients ca"), Authority("someone else")
    cert, key = client_ca.issue("control plane", server=False)
    ca_secret = secret("zeta-ca", server_ca.pem)
    secret("other-ca", stranger.pem)
    secret("cp-cert", cert)
    secret("cp-key", key)
    with https_overview(tmp_path, server_ca, client_ca) as url:
        with pytest.raises(ZetaError) as unknown_ca:  # the system's CAs do not know this one
            register([url], tls_cert_secret="cp-cert", tls_key_secret="cp-key")
        assert unknown_ca.value.code == "ZETA_UNREACHABLE"
        with pytest.raises(ZetaError) as wrong_ca:
            register([url], tls_ca_secret="other-ca", tls_cert_secret="cp-cert", tls_key_secret="cp-key")
        assert wrong_ca.value.code == "ZETA_UNREACHABLE"
        with pytest.raises(ZetaError) as no_client_cert:
            register([url], tls_ca_secret="zeta-ca")
        assert no_client_cert.value.code == "ZETA_UNREACHABLE"

        cluster = register([url], tls_ca_secret="zeta-ca", tls_cert_secret="cp-cert", tls_key_secret="cp-key")
        assert (cluster.engine_version, cluster.tls_verify) == ("2.3.12", True)
        with client_for(cluster) as client:
            assert client.overview().version == "2.3.12"
        # a rotated CA secret is read by the next client: the old CA no longer verifies the server
        secrets.do_update_secret(metadata=META, secret_id=ca_secret, value=stranger.pem)
        with pytest.raises(ZetaError) as rotated:
            with client_for(cluster) as client:
                client.overview()
        assert rotated.value.code == "ZETA_UNREACHABLE"
    # no certificate, key or CA stays on disk: the client's key passed through one 0600 file while ssl loaded it
    assert list((settings.DATA_DIR / "tls").iterdir()) == []
    assert stat.S_IMODE((settings.DATA_DIR / "tls").stat().st_mode) == 0o700
    # the secrets' values never reach the log: only their names
    assert not Event.objects.filter(payload__contains="PRIVATE KEY").exists()


def test_turning_verification_off_needs_a_reason_and_the_event_says_who_and_why(place, tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    register, secret = place
    lab = Authority("lab ca")
    secret("lab-ca", lab.pem)
    with https_overview(tmp_path, lab) as url:
        with pytest.raises(ClusterError) as info:
            register([url], tls_verify=False)
        assert (info.value.code, info.value.details["field"]) == ("CLUSTER_TLS_REASON_REQUIRED", "tls_verify_reason")
        with pytest.raises(ZetaError):
            register([url])  # verified against the system's CAs, it is refused
        cluster = register([url], tls_verify=False, tls_verify_reason="lab cluster with a self-made certificate")
        event = Event.objects.get(event_type="clusters.cluster_registered")
        payload = json.loads(event.payload)
        assert (payload["tls_verify"], payload["tls_verify_reason"]) == (
            False,
            "lab cluster with a self-made certificate",
        )
        assert (event.actor_kind, event.actor_id) == ("system", "tests")
        assert cluster.tls_verify_reason == "lab cluster with a self-made certificate"

        # on again (with the lab's CA): the reason goes with it; off again: it needs a reason of its own
        clusters.do_update_cluster(
            metadata=META, cluster=cluster, changes={"tls_verify": True, "tls_ca_secret": "lab-ca"}
        )
        cluster.refresh_from_db()
        assert (cluster.tls_verify, cluster.tls_verify_reason, cluster.tls_ca_secret) == (True, "", "lab-ca")
        with pytest.raises(ClusterError) as again:
            clusters.do_update_cluster(
                metadata=META, cluster=cluster, changes={"tls_verify": False, "tls_ca_secret": ""}
            )
        assert again.value.code == "CLUSTER_TLS_REASON_REQUIRED"


def test_tls_settings_that_do_not_go_together_are_refused(place):
    register, _ = place
    cases = [
        ({"tls_cert_secret": "cert"}, "CLUSTER_TLS_INVALID", "tls_key_secret"),
        ({"tls_verify": False, "tls_verify_reason": "lab", "tls_ca_secret": "ca"}, "CLUSTER_TLS_INVALID", "tls_verify"),
        ({"tls_ca_secret": "no such secret"}, "CLUSTER_TLS_INVALID", "tls_ca_secret"),
        ({"tls_ca_secret": "missing"}, "CLUSTER_TLS_INVALID", "tls_ca_secret"),  # names no secret
    ]
    for settings_, code, field in cases:
        with pytest.raises(ClusterError) as info:
            register([closed_url()], **settings_)
        assert (info.value.code, info.value.details["field"]) == (code, field), settings_


# -- through the API -------------------------------------------------------------------------------------------
@pytest.fixture
def api():
    tenant_id = tenancy.do_create_tenant(metadata=META, name="Acme", slug="acme")
    tenancy.do_create_workspace(metadata=META, tenant_id=tenant_id, name="ETL", slug="etl")
    user = User.objects.create_user("ops")
    iam.do_grant_role(metadata=META, user=user, tenant=Tenant.objects.get(id=tenant_id), role="admin")
    client = Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")

    def call(method: str, path: str, body: dict | None = None, status: int = 200) -> dict:
        url = f"/api/v1/tenants/acme/workspaces/etl/{path}"
        response = getattr(client, method)(url, body or {}, content_type="application/json")
        assert response.status_code == status, response.content
        return response.json() if response.content else {}

    return call


def test_the_api_takes_and_shows_the_settings_and_answers_their_codes(api):
    base = {"name": "zeta", "form": "bare_metal"}
    with emulator_process("--version", "2.3.5") as old:
        refused = api("post", "clusters/", {**base, "endpoints": [old.url]}, 422)
    assert refused["error"]["code"] == "ZETA_UNSUPPORTED_VERSION"
    assert refused["error"]["details"] == {"needed": "2.3.6"}
    bad = api("post", "clusters/", {**base, "endpoints": [closed_url()], "timeouts": {"stop": 0}}, 400)
    assert (bad["error"]["code"], bad["error"]["details"]["field"]) == ("CLUSTER_TIMEOUTS_INVALID", "timeouts.stop")
    no_reason = api("post", "clusters/", {**base, "endpoints": [closed_url()], "tls_verify": False}, 400)
    assert no_reason["error"]["code"] == "CLUSTER_TLS_REASON_REQUIRED"
    rest_v2 = closed_url()
    with emulator_process("--version", "2.3.8") as member:
        body = {**base, "endpoints": [rest_v2], "v1_endpoints": [member.url], "timeouts": {"submit": 300}}
        cluster = api("post", "clusters/", body, 201)
    assert cluster["v1_endpoints"] == [member.url] and cluster["timeouts"] == {"submit": 300.0}
    assert (cluster["tls_verify"], cluster["tls_verify_reason"], cluster["tls_ca_secret"]) == (True, "", "")
