"""Installer errors: a stable UPPER_SNAKE code, a message that names the problem, and what to do about it.

Each code belongs to a refusal class with its own exit code (the CLIs return it; docs/INSTALLER.md lists them),
so a script can tell bad input from an unfit host from a bad download without parsing text.
"""

from __future__ import annotations

from typing import Any

# Exit codes, one per refusal class (docs/INSTALLER.md, "Exit codes").
EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2  # bad flags or spec: version string, member list, role, form
EXIT_HOST = 3  # the host is not fit: OS, Java, ports, disk, user, directories, clock
EXIT_ARTIFACT = 4  # the distribution: unknown version, download, checksum, signature, archive, connectors
EXIT_POLICY = 5  # refused by policy: downgrade, nothing installed, nothing to roll back to, unfinished run
EXIT_HEALTH = 6  # the engine did not become healthy (an upgrade was rolled back)
EXIT_SERVICE = 7  # the service could not be defined, started or stopped; systemd or a form's tool is unavailable
EXIT_DECLINED = 8  # the operator did not confirm (no --yes, and no terminal to ask)

BAD_SPEC = "INSTALLER_BAD_SPEC"
BAD_VERSION = "INSTALLER_BAD_VERSION"
BAD_MEMBERS = "INSTALLER_BAD_MEMBERS"
OS_UNSUPPORTED = "INSTALLER_OS_UNSUPPORTED"
JAVA_MISSING = "INSTALLER_JAVA_MISSING"
JAVA_UNSUPPORTED = "INSTALLER_JAVA_UNSUPPORTED"
PORT_IN_USE = "INSTALLER_PORT_IN_USE"
PORT_FORBIDDEN = "INSTALLER_PORT_FORBIDDEN"
NO_DISK = "INSTALLER_NO_DISK"
USER_MISSING = "INSTALLER_USER_MISSING"
NOT_WRITABLE = "INSTALLER_NOT_WRITABLE"
CLOCK_WRONG = "INSTALLER_CLOCK_WRONG"
UNKNOWN_VERSION = "INSTALLER_UNKNOWN_VERSION"
FETCH_FAILED = "INSTALLER_FETCH_FAILED"
CHECKSUM_MISSING = "INSTALLER_CHECKSUM_MISSING"
BAD_CHECKSUM = "INSTALLER_BAD_CHECKSUM"
BAD_SIGNATURE = "INSTALLER_BAD_SIGNATURE"
BAD_ARCHIVE = "INSTALLER_BAD_ARCHIVE"
CONNECTOR_MISSING = "INSTALLER_CONNECTOR_MISSING"
DOWNGRADE_REFUSED = "INSTALLER_DOWNGRADE_REFUSED"
NOT_INSTALLED = "INSTALLER_NOT_INSTALLED"
ALREADY_INSTALLED = "INSTALLER_ALREADY_INSTALLED"
NO_PREVIOUS_VERSION = "INSTALLER_NO_PREVIOUS_VERSION"
UNFINISHED_RUN = "INSTALLER_UNFINISHED_RUN"
NOTHING_TO_RESUME = "INSTALLER_NOTHING_TO_RESUME"
BUSY = "INSTALLER_BUSY"
VERSION_IN_USE = "INSTALLER_VERSION_IN_USE"
HEALTH_FAILED = "INSTALLER_HEALTH_FAILED"
ROLLED_BACK = "INSTALLER_ROLLED_BACK"
FORM_NOT_AVAILABLE = "INSTALLER_FORM_NOT_AVAILABLE"
SERVICE_FAILED = "INSTALLER_SERVICE_FAILED"
SYSTEMD_UNAVAILABLE = "INSTALLER_SYSTEMD_UNAVAILABLE"
NOT_APPLIED = "INSTALLER_NOT_APPLIED"
HOOK_FAILED = "INSTALLER_HOOK_FAILED"
DECLINED = "INSTALLER_DECLINED"

EXIT_CODES: dict[str, int] = {
    BAD_SPEC: EXIT_USAGE,
    BAD_VERSION: EXIT_USAGE,
    BAD_MEMBERS: EXIT_USAGE,
    OS_UNSUPPORTED: EXIT_HOST,
    JAVA_MISSING: EXIT_HOST,
    JAVA_UNSUPPORTED: EXIT_HOST,
    PORT_IN_USE: EXIT_HOST,
    PORT_FORBIDDEN: EXIT_HOST,
    NO_DISK: EXIT_HOST,
    USER_MISSING: EXIT_HOST,
    NOT_WRITABLE: EXIT_HOST,
    CLOCK_WRONG: EXIT_HOST,
    UNKNOWN_VERSION: EXIT_ARTIFACT,
    FETCH_FAILED: EXIT_ARTIFACT,
    CHECKSUM_MISSING: EXIT_ARTIFACT,
    BAD_CHECKSUM: EXIT_ARTIFACT,
    BAD_SIGNATURE: EXIT_ARTIFACT,
    BAD_ARCHIVE: EXIT_ARTIFACT,
    CONNECTOR_MISSING: EXIT_ARTIFACT,
    DOWNGRADE_REFUSED: EXIT_POLICY,
    NOT_INSTALLED: EXIT_POLICY,
    ALREADY_INSTALLED: EXIT_POLICY,
    NO_PREVIOUS_VERSION: EXIT_POLICY,
    UNFINISHED_RUN: EXIT_POLICY,
    NOTHING_TO_RESUME: EXIT_POLICY,
    BUSY: EXIT_POLICY,
    VERSION_IN_USE: EXIT_POLICY,
    HEALTH_FAILED: EXIT_HEALTH,
    ROLLED_BACK: EXIT_HEALTH,
    FORM_NOT_AVAILABLE: EXIT_SERVICE,
    SERVICE_FAILED: EXIT_SERVICE,
    SYSTEMD_UNAVAILABLE: EXIT_SERVICE,
    NOT_APPLIED: EXIT_SERVICE,
    HOOK_FAILED: EXIT_SERVICE,
    DECLINED: EXIT_DECLINED,
}


class InstallerError(Exception):
    """A refusal or failure with a stable code. `message` says what is wrong, `hint` what to do about it."""

    def __init__(self, code: str, message: str, hint: str = "", **detail: Any) -> None:
        super().__init__(f"{message} {hint}".strip())
        self.code = code
        self.message = message
        self.hint = hint
        self.detail = detail

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.code, EXIT_UNEXPECTED)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "hint": self.hint, **self.detail}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" + (f" {self.hint}" if self.hint else "")
