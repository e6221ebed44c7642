"""Import rules from STYLE.md: domain cores stay pure, the agent and installer never import the control plane."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_packages_do_not_import_django():
    domain_files = list(ROOT.glob("controlplane/*/domain/*.py"))
    assert domain_files, "no domain packages found"
    for path in domain_files:
        bad = {m for m in imported_modules(path) if m == "django" or m.startswith(("django.", "rest_framework"))}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_agent_and_installer_do_not_import_the_control_plane():
    for package in ("agent", "installer"):
        for path in (ROOT / package).rglob("*.py"):
            bad = {m for m in imported_modules(path) if m == "controlplane" or m.startswith("controlplane.")}
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
