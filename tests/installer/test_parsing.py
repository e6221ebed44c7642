"""The tolerant parsers: `.sha512` files in every layout seen, and `java -version` output of every vendor."""

from __future__ import annotations

import hashlib

import pytest

from installer import versions
from installer.steps.preflight import parse_java_version
from installer.steps.verify import parse_sha512

DIGEST = hashlib.sha512(b"seatunnel").hexdigest()
NAME = "apache-seatunnel-2.3.12-bin.tar.gz"


def gpg_layout(digest: str) -> str:
    groups = [digest[i : i + 8].upper() for i in range(0, 128, 8)]
    return f"{NAME}: " + " ".join(groups[:6]) + "\n" + " " * 36 + " ".join(groups[6:12]) + "\n" + " ".join(groups[12:])


@pytest.mark.parametrize(
    "text",
    [
        DIGEST,
        DIGEST + "\n",
        f"{DIGEST}  {NAME}\n",
        f"{DIGEST} *{NAME}",
        f"SHA512({NAME})= {DIGEST}\n",
        f"SHA512 ({NAME}) = {DIGEST}",
        DIGEST.upper(),
        gpg_layout(DIGEST),
        DIGEST[:64] + "\n" + DIGEST[64:] + "\n",
    ],
)
def test_sha512_files_in_any_layout(text):
    assert parse_sha512(text) == DIGEST


@pytest.mark.parametrize("text", ["", "not a digest", DIGEST[:100], "<html>404 Not Found</html>"])
def test_no_digest_is_none(text):
    assert parse_sha512(text) is None


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "11.0.2" 2019-01-15\nOpenJDK Runtime Environment 18.9 (build 11.0.2+9)', 11),
        ('java version "1.8.0_292"\nJava(TM) SE Runtime Environment (build 1.8.0_292-b10)', 8),
        ('openjdk version "17" 2021-09-14', 17),
        ('openjdk version "21-ea" 2023-09-19', 21),
        ('Picked up JAVA_TOOL_OPTIONS: -Xmx1g\nopenjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "1.8.0_412"\nOpenJDK 64-Bit Server VM Temurin', 8),
        ("bash: java: command not found", None),
    ],
)
def test_java_version_output(output, major):
    assert parse_java_version(output) == major


def test_the_java_each_line_needs():
    assert versions.java_majors("2.3.12") == (8, 11)
    assert versions.java_majors("3.0.0") == (8, 11)  # ZETA_FACTS §4.1: the 3.0.0 docs still say 8 or 11
    assert versions.java_majors("3.1.0") == (11, 17)


@pytest.mark.parametrize(
    ("current", "target", "kind"),
    [
        ("2.3.11", "2.3.12", "patch"),
        ("2.3.12", "2.4.0", "minor"),
        ("2.3.13", "3.0.0", "major"),
        ("3.0.0", "3.0.0", "same"),
    ],
)
def test_version_changes(current, target, kind):
    assert versions.check_change(current, target) == kind
