"""The fault library the control plane uses: the YAML files beside this module, loaded once per process."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from controlplane.diagnostics.domain.library import Library, load_directory

FINGERPRINTS = Path(__file__).resolve().parent / "fingerprints"


@cache
def fault_library() -> Library:
    """The library, checked when first loaded (a malformed file raises ``FaultLibraryInvalid``; the system check
    ``diagnostics.E001`` reports it at start-up)."""
    return load_directory(FINGERPRINTS)
