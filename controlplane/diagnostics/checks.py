"""Start-up check of the fault library (``manage.py check``, and every command that runs the checks): a malformed
fingerprint file, or a one-click fix naming an agent action, operation or job-version fix type that does not exist,
stops the process with the coded error."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from controlplane.diagnostics.domain.errors import FaultLibraryInvalid
from controlplane.diagnostics.domain.library import Library, one_click_references


@register()
def fault_library_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from controlplane.diagnostics.library import fault_library

    try:
        library = fault_library()
    except FaultLibraryInvalid as error:
        return [Error(f"{error.code}: {error.message}", id="diagnostics.E001", obj=error.details.get("file"))]
    return [
        Error(f"FAULT_LIBRARY_INVALID: {problem}", id="diagnostics.E002", obj=file)
        for file, problem in one_click_problems(library)
    ]


def one_click_problems(library: Library) -> list[tuple[str, str]]:
    """(file, problem) for each one-click fix whose type is not an allowlisted agent action, an operation type or a
    job-version fix this code knows how to plan."""
    from agent import schemas
    from controlplane.diagnostics.fixes import JOB_VERSION_FIXES
    from controlplane.operations.plans import type_names

    known_by_kind = {
        "agent_action": ("agent action", set(schemas.types())),
        "operation": ("operation", set(type_names())),
        "job_version": ("job-version fix", set(JOB_VERSION_FIXES)),
    }
    problems = []
    for fingerprint, fix in one_click_references(library):
        label, known = known_by_kind[fix.kind]
        if fix.type not in known:
            problems.append(
                (
                    fingerprint.file,
                    f"fingerprint {fingerprint.id}, field one_click.type: {fix.type!r} is not an allowlisted "
                    f"{label} type (one of {', '.join(sorted(known))})",
                )
            )
    return problems
