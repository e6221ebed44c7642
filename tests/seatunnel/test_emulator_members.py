"""The emulator's member list (--members): per-member monitoring entries that change while it runs."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from controlplane.seatunnel.emulator.process import emulator_process


def test_help_documents_members():
    out = subprocess.run(
        [sys.executable, "-m", "controlplane.seatunnel.emulator", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--members" in out


def test_default_is_one_hybrid_master():
    with emulator_process() as emu:
        (member,) = httpx.get(f"{emu.url}/system-monitoring-information").json()
        assert (member["isMaster"], member["host"], member["port"]) == ("true", "127.0.0.1", "5801")
        assert "nodeRole" not in member and all(isinstance(v, str) for v in member.values())
        assert httpx.get(f"{emu.url}/overview").json()["workers"] == "1"


def test_the_list_is_read_again_while_running(tmp_path):
    path = tmp_path / "members.json"
    path.write_text(json.dumps([{"address": "m:5801", "role": "master"}, {"address": "w:5802", "role": "worker"}]))
    with emulator_process("--members", str(path), "--version", "3.0.0") as emu:
        members = httpx.get(f"{emu.url}/system-monitoring-information").json()
        assert [(m["host"], m["isMaster"], m["nodeRole"], m["worker"]) for m in members] == [
            ("m", "true", "MASTER", "false"),
            ("w", "false", "WORKER", "true"),
        ]
        assert httpx.get(f"{emu.url}/overview").json()["workers"] == "1"
        path.write_text(json.dumps([{"address": "w:5802", "role": "worker", "master": True}]))
        assert [m["host"] for m in httpx.get(f"{emu.url}/system-monitoring-information").json()] == ["w"]
        path.write_text("not json")  # a broken file keeps the last good list
        assert [m["host"] for m in httpx.get(f"{emu.url}/system-monitoring-information").json()] == ["w"]


def test_a_bad_members_file_stops_it_at_startup(tmp_path):
    path = tmp_path / "members.json"
    path.write_text(json.dumps([{"address": "no-port", "role": "master"}]))
    result = subprocess.run(
        [sys.executable, "-m", "controlplane.seatunnel.emulator", "--port", "0", "--members", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "--members" in result.stderr
