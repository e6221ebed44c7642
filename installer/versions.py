"""Engine versions: parsing, the Java each line needs, and which version changes are allowed."""

from __future__ import annotations

import re

from installer import errors
from installer.errors import InstallerError

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.]+))?$")


def parse(version: str) -> tuple[int, int, int]:
    """`2.3.12` -> (2, 3, 12); a pre-release suffix (`3.0.0-rc1`) is kept out of the tuple."""
    match = _VERSION.match(version.strip())
    if not match:
        raise InstallerError(
            errors.BAD_VERSION,
            f"{version!r} is not a SeaTunnel version.",
            "Give a release number such as 2.3.12 or 3.0.0 (https://seatunnel.apache.org/download lists them).",
        )
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def java_majors(version: str) -> tuple[int, ...]:
    """The Java major versions the engine line supports (ZETA_FACTS §4.1: 2.3.x and 3.0.x Java 8 or 11;
    the 3.1.0 docs ask for Java 11 or 17)."""
    if parse(version) >= (3, 1, 0):
        return (11, 17)
    return (8, 11)


def line(version: str) -> tuple[int, int]:
    major, minor, _ = parse(version)
    return major, minor


def check_change(current: str, target: str, *, force: bool = False) -> str:
    """Whether moving this node from `current` to `target` is allowed; returns the kind of change
    (`same`, `patch`, `minor`, `major`, `downgrade`). A downgrade, and any move across major lines
    downwards, needs `force` (state and IMap formats are not promised to read backwards)."""
    old, new = parse(current), parse(target)
    if new == old:
        return "same"
    if new < old:
        if not force:
            crossing = " across major lines" if new[0] != old[0] else ""
            raise InstallerError(
                errors.DOWNGRADE_REFUSED,
                f"{target} is older than the installed {current} (a downgrade{crossing}).",
                "Use `rollback` to go back to the previous version, or pass --force if you mean it "
                "(checkpoints and IMap data written by the newer engine may not be readable).",
                current=current,
                target=target,
            )
        return "downgrade"
    if new[0] != old[0]:
        return "major"
    return "minor" if new[1] != old[1] else "patch"
