"""What the deploy/ tests share: the real Prometheus tools, promtool and amtool (tests/system_tools.py), and where
deploy/ is."""

from __future__ import annotations

from pathlib import Path

from tests.system_tools import require, run

__all__ = ["DEPLOY", "require", "run"]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
