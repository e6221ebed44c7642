"""The examples under deploy/ are the renderers' output: a change to a form shows in the examples' diff."""

from __future__ import annotations

from pathlib import Path

from installer.forms import examples
from tests.installer.forms import tools

ROOT = Path(__file__).resolve().parents[3]


def test_examples_match_the_renderers() -> None:
    expected = examples.examples()
    on_disk = {
        str(path.relative_to(ROOT)): path.read_text()
        for directory in examples.EXAMPLE_DIRS
        for path in sorted((ROOT / directory).rglob("*"))
        if path.is_file()
    }
    stale = sorted(set(on_disk) - set(expected))
    missing = sorted(set(expected) - set(on_disk))
    changed = sorted(p for p in set(expected) & set(on_disk) if expected[p] != on_disk[p])
    hint = "regenerate with: python -m installer.forms.examples"
    assert (stale, missing, changed) == ([], [], []), hint


def test_the_examples_pass_their_validators() -> None:
    compose = tools.run([tools.require("docker-compose"), "config", "-q"], cwd=str(ROOT / "deploy/compose/seatunnel"))
    assert (compose.returncode, compose.stderr) == (0, "")
    kustomize = tools.run([tools.require("kubectl"), "kustomize", str(ROOT / "deploy/kubernetes/seatunnel")])
    assert kustomize.returncode == 0, kustomize.stderr
    assert "kind: StatefulSet" in kustomize.stdout
