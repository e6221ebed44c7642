"""Errors of the fault library and matcher."""

from __future__ import annotations

from controlplane.errors import DomainError


class FaultLibraryInvalid(DomainError):
    """A fingerprint file or rule is malformed. ``details``: ``file``, ``fingerprint`` (id, or its position when it
    has none) and ``field`` (a dotted path inside the fingerprint)."""

    code = "FAULT_LIBRARY_INVALID"

    def __init__(self, message: str, *, file: str, fingerprint: str = "", field: str = "") -> None:
        parts = (file, f"fingerprint {fingerprint}" if fingerprint else "", f"field {field}" if field else "")
        where = ", ".join(part for part in parts if part)
        super().__init__(f"{where}: {message}", file=file, fingerprint=fingerprint, field=field)


class FaultTextUnreadable(DomainError):
    """The text given to the matcher could not be read (not UTF-8, not text)."""

    code = "FAULT_TEXT_UNREADABLE"


class FaultTextTooLarge(DomainError):
    code = "FAULT_TEXT_TOO_LARGE"
