"""Secrets are taken out of config text; everything else stays as it was."""

from __future__ import annotations

import pytest

from agent.redact import MASK, redact

SEATUNNEL_YAML = """\
seatunnel:
  engine:
    http:
      enable-http: true
      port: 8080
      enable-basic-auth: true
      basic-auth-username: "admin"
      basic-auth-password: "s3cr3t-pw"
      enable-https: true
      key-store-path: /opt/seatunnel/keystore.jks
      key-store-password: ks-pass-1
      key-manager-password: 'km-pass-2'
      trust-store-password: ts-pass-3
    checkpoint:
      storage:
        type: hdfs
        plugin-config:
          storage.type: s3
          fs.s3a.access.key: AKIAEXAMPLEKEY
          fs.s3a.secret.key: wJalrXUtnFEMI/K7MDENG
          fs.oss.accessKeySecret: oss-secret-4
"""


def test_seatunnel_yaml():
    out = redact(SEATUNNEL_YAML)
    for secret in (
        "s3cr3t-pw",
        "ks-pass-1",
        "km-pass-2",
        "ts-pass-3",
        "AKIAEXAMPLEKEY",
        "wJalrXUtnFEMI",
        "oss-secret-4",
    ):
        assert secret not in out
    assert 'basic-auth-password: "***REDACTED***"' in out and "key-manager-password: '***REDACTED***'" in out
    # layout, switches, paths and non-secret names stay
    assert out.count("\n") == SEATUNNEL_YAML.count("\n")
    for kept in (
        "enable-basic-auth: true",
        'basic-auth-username: "admin"',
        "key-store-path: /opt/seatunnel/keystore.jks",
        "port: 8080",
        "storage.type: s3",
    ):
        assert kept in out


def test_hocon_job_config():
    conf = """
env { job.mode = "BATCH" }
source {
  Jdbc {
    url = "jdbc:postgresql://etl:pg-pass-5@db:5432/app"
    user = "etl"
    password = "pg-pass-5"
    query = "select * from t"
  }
}
sink {
  Kafka {
    bootstrap.servers = "k:9092"
    kafka.config = {
      sasl.jaas.config = "org.apache.kafka.ScramLoginModule required username=\\"u\\" password=\\"kafka-6\\";"
    }
  }
  S3File { access_key = "AKIA7", secret_key = "s3-secret-7", path = "/out" }
}
"""
    out = redact(conf)
    for secret in ("pg-pass-5", "kafka-6", "AKIA7", "s3-secret-7"):
        assert secret not in out
    assert 'user = "etl"' in out and 'query = "select * from t"' in out and 'path = "/out"' in out
    assert "jdbc:postgresql://etl:***REDACTED***@db:5432/app" in out


def test_json_on_one_line_and_block_scalars():
    assert redact('{"password":"p1","api_token": "t2","n": 3, "enabled": true}') == (
        f'{{"password":"{MASK}","api_token": "{MASK}","n": 3, "enabled": true}}'
    )
    out = redact("tls:\n  private_key: |\n    -----BEGIN KEY-----\n    MIIEv\n  cert: c.pem\n")
    assert "MIIEv" not in out and "BEGIN KEY" not in out and "cert: c.pem" in out


@pytest.mark.parametrize(
    "line",
    ["token: abc123", "secret = xyz", "credentials: hunter2", "sasl.jaas.config: inline", "PASSWORD=x1", "pwd: y"],
)
def test_sensitive_keys(line):
    key = line.split(":")[0].split("=")[0]
    out = redact(line)
    assert MASK in out and out.startswith(key)


def test_empty_and_boolean_values_are_kept():
    assert redact('password: ""\nenable-basic-auth: false\n') == 'password: ""\nenable-basic-auth: false\n'
