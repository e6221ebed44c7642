"""The compose and k8s forms through the core: `plan` shows the whole cluster's files as diffs and changes
nothing; `install` writes them under <prefix>/deploy/<form>/ and applies them, or, with no Docker engine or
Kubernetes cluster (none exists here), stops with INSTALLER_NOT_APPLIED saying where the files are and how to
apply them. The written files pass the real offline validators (`docker-compose config`, `kubectl kustomize`).
The apply command lines themselves are pinned with fake `docker`/`kubectl` that answer like reachable ones."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from installer import errors, plan, run
from installer.errors import InstallerError
from installer.forms.compose import COMPOSE_FILE
from tests.installer.conftest import V1, V2
from tests.installer.forms import tools
from tests.installer.test_plan_and_cli import snapshot


@pytest.fixture
def unreachable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Docker engine and no cluster, whatever the host has: a socket that does not exist, a kubeconfig whose
    server refuses connections (a token user, so kubectl does not prompt for a password)."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "none", "user": {"token": "none"}}],
                "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}],
                "current-context": "none",
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))


def test_compose_install_writes_the_project_and_refuses_to_claim_it_runs(make_spec, prefix, unreachable):
    spec = make_spec(V1, form="compose", masters=2, workers=3)
    with pytest.raises(InstallerError) as caught:
        run.install(spec)
    error = caught.value
    root = prefix / "deploy" / "compose"
    assert error.code == errors.NOT_APPLIED and error.exit_code == errors.EXIT_SERVICE
    assert f"The files are written in {root}" in error.hint and error.detail["written"] is True
    assert f"-f {root}/{COMPOSE_FILE} -p seatunnel up -d" in error.hint  # the command to run by hand
    assert "Docker engine" in error.message or "installed" in error.message
    assert error.detail["directory"] == str(root)

    # the project is what the form renders from this spec, and the real docker-compose accepts it
    document = yaml.safe_load((root / COMPOSE_FILE).read_text())
    services = document["services"]
    assert sorted(services) == ["master-1", "master-2", "worker-1", "worker-2", "worker-3"]
    assert {s["image"] for s in services.values()} == {f"apache/seatunnel:{V1}"}
    member_list = yaml.safe_load((root / "config" / "hazelcast-worker.yaml").read_text())["hazelcast"]["network"]
    assert len(member_list["join"]["tcp-ip"]["member-list"]) == 5
    checked = tools.run([tools.require("docker-compose"), "config", "-q"], cwd=str(root))
    assert (checked.returncode, checked.stderr) == (0, "")
    # nothing of the node steps ran: no download, no version, no `current`
    assert not (prefix / "versions").exists() and not (prefix / "current").is_symlink()


def test_k8s_install_writes_the_kustomization_and_refuses_without_a_cluster(make_spec, prefix, unreachable):
    spec = make_spec(V1, form="k8s", namespace="etl", workers=4)
    with pytest.raises(InstallerError) as caught:
        run.install(spec)
    root = prefix / "deploy" / "k8s"
    assert caught.value.code == errors.NOT_APPLIED
    assert f"kubectl create namespace etl (once), then kubectl apply -k {root}" in caught.value.hint
    rendered = tools.run([tools.require("kubectl"), "kustomize", str(root)])
    assert rendered.returncode == 0, rendered.stderr
    objects = list(yaml.safe_load_all(rendered.stdout))
    workers = next(o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "seatunnel-worker")
    assert workers["spec"]["replicas"] == 4 and workers["metadata"]["namespace"] == "etl"
    assert {o["metadata"].get("namespace") for o in objects} == {"etl"}


def test_plan_shows_the_files_as_diffs_and_changes_nothing(make_spec, prefix, unreachable):
    before = snapshot(prefix.parent)
    result = plan.plan_install(make_spec(V1, form="compose"))
    assert snapshot(prefix.parent) == before and not prefix.exists()
    files = {
        Path(c["path"]).relative_to(prefix / "deploy" / "compose"): c for c in result["changes"] if c["kind"] == "file"
    }
    assert Path(COMPOSE_FILE) in files and Path("config/seatunnel.yaml") in files
    assert all(c["action"] == "create" for c in files.values())
    assert f'+    image: "apache/seatunnel:{V1}"\n' in files[Path(COMPOSE_FILE)]["diff"]
    apply = [c for c in result["changes"] if c["kind"] == "apply"]
    assert len(apply) == 1 and apply[0]["action"].endswith("-p seatunnel up -d")
    assert [(c["check"], c["ok"], c["error"]["code"]) for c in result["checks"]] == [
        ("apply", False, errors.NOT_APPLIED)
    ]
    assert result["checks"][0]["error"]["hint"].startswith(f"An install writes the files into {prefix}/deploy/compose;")

    # after an install wrote them, a plan for another version shows only what changes
    with pytest.raises(InstallerError):
        run.install(make_spec(V1, form="compose"))
    again = plan.plan_install(make_spec(V2, form="compose"))
    changed = {Path(c["path"]).name: c for c in again["changes"] if c["kind"] == "file" and c["action"] != "unchanged"}
    assert sorted(changed) == [COMPOSE_FILE]  # the image tag and the header; the config files are the same
    assert (
        f'-    image: "apache/seatunnel:{V1}"\n+    image: "apache/seatunnel:{V2}"\n' in changed[COMPOSE_FILE]["diff"]
    )


FAKE_TOOL = r"""#!PYTHON
import json, sys
from pathlib import Path
here = Path(__file__).resolve().parent
with open(here / "calls.jsonl", "a") as out:
    out.write(json.dumps([Path(sys.argv[0]).name, *sys.argv[1:]]) + "\n")
print("ok")
"""


@pytest.fixture
def reachable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`docker` (with the compose plugin) and `kubectl` that answer every call with success, as tools that
    reach an engine and a cluster would; they record their argv."""
    bindir = tmp_path / "reachable-bin"
    bindir.mkdir()
    for name in ("docker", "kubectl"):
        path = bindir / name
        path.write_text(FAKE_TOOL.replace("PYTHON", sys.executable, 1))
        path.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return bindir


def _calls(bindir: Path) -> list[list[str]]:
    path = bindir / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("form", ["compose", "k8s"])
def test_where_the_tool_reaches_an_engine_install_applies_the_files(make_spec, prefix, reachable, form):
    result = run.install(make_spec(V1, form=form))
    root = prefix / "deploy" / form
    if form == "compose":
        expected = [
            ["docker", "compose", "version"],
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            ["docker", "compose", "-f", f"{root}/{COMPOSE_FILE}", "-p", "seatunnel", "up", "-d"],
        ]
    else:
        expected = [
            ["kubectl", "version", "--request-timeout=15s", "-o", "json"],
            ["kubectl", "apply", "-k", str(root)],
        ]
    assert _calls(reachable) == expected
    assert result["apply"]["command"] == expected[-1]
    assert result["render"]["directory"] == str(root)
    top = "docker-compose.yml" if form == "compose" else "kustomization.yaml"
    assert str(root / top) in result["render"]["files"]
    assert sorted(result["render"]["changed"]) == sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
    )
    # again: the same files, nothing rewritten, applied again (apply is idempotent)
    assert run.install(make_spec(V1, form=form))["render"]["changed"] == []


def test_an_upgrade_with_a_cluster_form_is_an_install(make_spec):
    with pytest.raises(InstallerError) as caught:
        run.upgrade(make_spec(V2, form="compose"))
    assert caught.value.code == errors.FORM_NOT_AVAILABLE
    assert f"install --form compose --version {V2}" in caught.value.hint


def test_the_cli_exits_7_and_says_how_to_apply_by_hand(prefix, unreachable, capsys):
    from agent import install as cli

    argv = ["install", "--form", "k8s", "--version", V1, "--prefix", str(prefix), "--workers", "3", "--yes", "--json"]
    assert cli.main(argv) == errors.EXIT_SERVICE
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == errors.NOT_APPLIED and error["written"] is True
    assert f"kubectl apply -k {prefix}/deploy/k8s" in error["hint"]
    kustomization = yaml.safe_load((prefix / "deploy" / "k8s" / "kustomization.yaml").read_text())
    assert {"name": "seatunnel-worker", "count": 3} in kustomization["replicas"]
