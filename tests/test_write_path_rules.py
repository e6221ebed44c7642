"""The write path's rules, read from the code (ADR 0018): every writer authorizes its actor itself, and
`.unscoped` (crossing tenants) appears only where that is the point."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "controlplane"
# authorize_self: writers about the actor's own logins (a signed-in user only, never a token; ADR 0019)
AUTHORIZERS = {"authorize", "authorize_platform", "authorize_agent", "authorize_self"}
# Writers whose credential is not a principal but what they are given, each with its reason.
UNAUTHORIZED_WRITERS = {
    "do_log_in": "the username and password are the credential",
    "do_refresh_login": "the refresh token is the credential",
    "do_log_out": "the refresh token is the credential, and logging out only ends it",
    "do_accept_invitation": "the invitation's token is the credential",
}
# Functions of selectors.py allowed to cross tenants, by the end of their name.
CROSSING_SUFFIXES = ("_for_system", "_for_platform")


def _modules() -> list[Path]:
    return [
        p
        for p in sorted(ROOT.rglob("*.py"))
        if "migrations" not in p.parts and "emulator" not in p.parts  # the emulator is the engine's double
    ]


def _called_names(node: ast.AST) -> set[str]:
    names = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            func = call.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


def writers() -> list[tuple[str, ast.FunctionDef]]:
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("do_"):
                found.append((str(path.relative_to(ROOT.parent)), node))
    return found


def test_there_are_writers_to_check() -> None:
    assert len(writers()) > 40


def test_every_writer_authorizes_its_actor() -> None:
    missing = [
        f"{path}:{node.lineno} {node.name}"
        for path, node in writers()
        if node.name not in UNAUTHORIZED_WRITERS and not (AUTHORIZERS & _called_names(node))
    ]
    assert missing == [], "these writers do not authorize (iam.access.authorize*, ADR 0018)"


def test_the_listed_exceptions_exist() -> None:
    names = {node.name for _, node in writers()}
    assert set(UNAUTHORIZED_WRITERS) <= names


def _unscoped_uses(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, enclosing top-level function or "") of every `.unscoped` attribute."""
    uses = []
    for top in ast.iter_child_nodes(tree):
        owner = top.name if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)) else ""
        for node in ast.walk(top):
            if isinstance(node, ast.Attribute) and node.attr == "unscoped":
                uses.append((node.lineno, owner))
    return uses


def test_unscoped_only_in_projections_and_named_system_selectors() -> None:
    misplaced = []
    for path in _modules():
        if path.name == "projections.py" or path.relative_to(ROOT).as_posix() == "tenancy/scoping.py":
            continue
        for line, owner in _unscoped_uses(ast.parse(path.read_text())):
            if path.name == "selectors.py" and owner.endswith(CROSSING_SUFFIXES):
                continue
            misplaced.append(f"{path.relative_to(ROOT.parent)}:{line} in {owner or 'module/class'}")
    assert misplaced == [], "cross-tenant reads belong in a selector named *_for_system / *_for_platform"


def test_the_rules_see_a_planted_violation(tmp_path: Path) -> None:
    planted = ast.parse("def do_x(*, metadata):\n    Job.unscoped.all()\n")
    (node,) = [n for n in ast.walk(planted) if isinstance(n, ast.FunctionDef)]
    assert not (AUTHORIZERS & _called_names(node))
    assert _unscoped_uses(planted) == [(2, "do_x")]
