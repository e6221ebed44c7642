"""The block `make run` prints once the web answers: framed, so it stands out; with the demo's login when seeded."""

from __future__ import annotations

from controlplane.console.ready_banner import ready_banner


def test_the_block_is_framed_and_has_the_demo_login(tmp_path):
    password_file = tmp_path / "demo-admin-password"
    password_file.write_text("s3cret\n")
    lines = ready_banner("http://h:1/", tmp_path, password_file=password_file, zeta_url="http://h:81")
    assert lines[0] == lines[-1] == "+" + "-" * (len(lines[0]) - 2) + "+"
    assert all(len(line) == len(lines[0]) and line[:2] == "| " and line[-2:] == " |" for line in lines[1:-1])
    text = "\n".join(lines)
    assert "| ready: http://h:1/ " in text
    assert f"log in    admin / s3cret  (stored in {password_file})" in text
    assert "the Zeta emulator at http://h:81" in text


def test_without_the_demo_it_says_how_to_get_a_login(tmp_path):
    text = "\n".join(ready_banner("http://h:1/", tmp_path, password_file=None, zeta_url=None))
    assert "python manage.py createsuperuser" in text
    assert "Zeta" not in text and "tenant" not in text
