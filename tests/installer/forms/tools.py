"""What the form tests share: the external validators (tests/system_tools.py) and writing a form's files."""

from __future__ import annotations

from pathlib import Path

from tests.system_tools import require, run

__all__ = ["require", "run", "write_tree"]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write a form's files (relative path -> text) under root, as an install would."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
