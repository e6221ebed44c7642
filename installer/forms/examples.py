"""The rendered examples under deploy/<form>/seatunnel/, for people who deploy without the installer.

They are the forms' output for one example deployment, kept in the repository so they can be read, copied
and reviewed; a test fails when they drift from the renderers. Regenerate them from the repository root:

    python -m installer.forms.examples
"""

from __future__ import annotations

import sys
from pathlib import Path

from installer.forms import Deployment, Role
from installer.forms.compose import render_compose
from installer.forms.kubernetes import render_kubernetes
from installer.forms.systemd import render_units

__all__ = ["EXAMPLE_DIRS", "EXAMPLE_VERSION", "examples", "write_examples"]

EXAMPLE_VERSION = "2.3.12"
EXAMPLE_DIRS = ("deploy/systemd/seatunnel", "deploy/compose/seatunnel", "deploy/kubernetes/seatunnel")


def examples() -> dict[str, str]:
    """Every example file by its path from the repository root."""
    files: dict[str, str] = {}
    systemd, compose, kubernetes = EXAMPLE_DIRS
    # A hybrid host, a master-only host and a worker-only host, with the JDK path of Debian's openjdk-11
    # (2.3.x runs on Java 8 or 11).
    for roles in ((Role.HYBRID,), (Role.MASTER,), (Role.WORKER,)):
        d = Deployment(version=EXAMPLE_VERSION, roles=roles, java_home="/usr/lib/jvm/java-11-openjdk-amd64")
        files.update({f"{systemd}/{name}": text for name, text in render_units(d).items()})
    cluster = Deployment(version=EXAMPLE_VERSION, masters=2, workers=2)
    files.update({f"{compose}/{name}": text for name, text in render_compose(cluster).items()})
    files.update({f"{kubernetes}/{name}": text for name, text in render_kubernetes(cluster).items()})
    return files


def write_examples(root: Path) -> list[Path]:
    """Write the examples under `root` (the repository); returns the paths written."""
    written = []
    for relative, text in examples().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_examples(Path(sys.argv[1] if len(sys.argv) > 1 else ".")):
        print(path)
