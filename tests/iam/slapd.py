"""A real OpenLDAP server (Debian's ``slapd``) for the LDAP tests: its own config, database, port and
certificates under a temporary directory, loaded with ``ldapadd`` and stopped at the end.

Plain LDAP (with StartTLS) and LDAPS listen on two free loopback ports. The certificate is issued by a CA
made here, for 127.0.0.1, so certificate checking is exercised for real.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.waiting import wait_until

SLAPD = Path("/usr/sbin/slapd")
SLAPPASSWD = Path("/usr/sbin/slappasswd")
SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "root-secret-pw"
READER_DN = f"cn=reader,{SUFFIX}"
READER_PASSWORD = "reader-secret-pw"
PEOPLE = f"ou=people,{SUFFIX}"
PUBLIC = f"ou=public,{SUFFIX}"

# uid -> (password, given name, surname, branch). Everyone in ou=people is hidden from anonymous searches.
USERS: dict[str, tuple[str, str, str, str]] = {
    "alice": ("alice-Pa55word!", "Alice", "Liddell", PEOPLE),
    "bob": ("bob-Pa55word!", "Bob", "Builder", PEOPLE),
    "alina": ("alina-Pa55word!", "Alina", "Zagitova", PEOPLE),
    "dave": ("dave-Pa55word!", "Dave", "Public", PUBLIC),
}


class SlapdMissing(RuntimeError):
    pass


@dataclass
class Slapd:
    directory: Path
    port: int = 0
    tls_port: int = 0
    process: subprocess.Popen | None = None
    ca_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.ca_file = self.directory / "ca.pem"

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    # --- life cycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        missing = [tool for tool in (str(SLAPD), str(SLAPPASSWD), "ldapadd", "ldapsearch") if not shutil.which(tool)]
        if missing:
            raise SlapdMissing(
                f"{', '.join(missing)} not found: the LDAP tests need a real OpenLDAP server. Install it with "
                "`DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils` (.ci/run does)"
            )
        self._certificates()
        (self.directory / "db").mkdir()
        (self.directory / "slapd.conf").write_text(self._config())
        last_error = ""
        for _attempt in range(3):  # a free port can be taken between finding and binding it
            self.port, self.tls_port = free_port(), free_port()
            log = (self.directory / "slapd.log").open("w")
            self.process = subprocess.Popen(
                [
                    str(SLAPD),
                    "-d",
                    "0",  # stay in the foreground, so the fixture owns the process
                    "-h",
                    f"{self.url}/ {self.ldaps_url}/",
                    "-f",
                    str(self.directory / "slapd.conf"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            if self._wait_ready():
                self._load()
                return
            self.stop()
            last_error = (self.directory / "slapd.log").read_text()[-2000:]
        raise RuntimeError(f"slapd did not start; its log:\n{last_error}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def _wait_ready(self) -> bool:
        """True once slapd answers a search; False if it exits first or does not answer within 15 s (the caller
        tries another port or reports its log)."""

        class Exited(Exception):
            pass

        def answers() -> bool:
            if self.process is None or self.process.poll() is not None:
                raise Exited
            probe = subprocess.run(
                ["ldapsearch", "-x", "-H", self.url, "-b", "", "-s", "base", "namingContexts"],
                capture_output=True,
                timeout=10,
            )
            return probe.returncode == 0

        try:
            wait_until(answers, timeout=15, interval=0.1, message="slapd answering a search")
        except (Exited, AssertionError):
            return False
        return True

    # --- content ----------------------------------------------------------------------------------------

    def _config(self) -> str:
        d = self.directory
        return f"""
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {d}/slapd.pid
argsfile {d}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile {d}/ca.pem
TLSCertificateFile {d}/server.pem
TLSCertificateKeyFile {d}/server.key
# Like some directories in the wild, accept an unauthenticated bind (a DN with no password) as anonymous:
# the backend must refuse an empty password itself.
allow bind_anon_dn

database mdb
maxsize 10485760
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {hash_password(ROOT_PASSWORD)}
directory {d}/db

access to attrs=userPassword
    by anonymous auth
    by * none
access to dn.subtree="{PEOPLE}"
    by dn.exact="{READER_DN}" read
    by anonymous auth
    by * none
access to *
    by * read
"""

    def _load(self) -> None:
        entries = [
            f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n",
            f"dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\n"
            f"userPassword: {hash_password(READER_PASSWORD)}\n",
            f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n",
            f"dn: {PUBLIC}\nobjectClass: organizationalUnit\nou: public\n",
        ]
        for uid, (password, given, surname, branch) in USERS.items():
            entries.append(
                f"dn: uid={uid},{branch}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {given} {surname}\n"
                f"givenName: {given}\nsn: {surname}\nmail: {uid}@example.org\n"
                f"userPassword: {hash_password(password)}\n"
            )
        ldif = self.directory / "data.ldif"
        ldif.write_text("\n".join(entries))
        subprocess.run(
            ["ldapadd", "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD, "-f", str(ldif)],
            check=True,
            capture_output=True,
            timeout=30,
        )

    def _certificates(self) -> None:
        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "controlplane test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        server = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        (self.directory / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
        (self.directory / "server.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        (self.directory / "server.key").chmod(0o600)


def hash_password(password: str) -> str:
    result = subprocess.run(
        [str(SLAPPASSWD), "-h", "{SSHA}", "-s", password], check=True, capture_output=True, text=True, timeout=10
    )
    return result.stdout.strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
