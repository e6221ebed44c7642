"""Start-up check of the fault library (``manage.py check``, and every command that runs the checks): a malformed
fingerprint file, or a one-click fix naming an agent action or operation type that does not exist, stops the
process with the coded error."""

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
    """(file, problem) for each one-click fix whose type is not an allowlisted agent action or an operation type."""
    from agent import schemas
    from controlplane.operations.plans import type_names

    actions, operations = set(schemas.types()), set(type_names())
    problems = []
    for fingerprint, fix in one_click_references(library):
        known = actions if fix.kind == "agent_action" else operations
        if fix.type not in known:
            problems.append(
                (
                    fingerprint.file,
                    f"fingerprint {fingerprint.id}, field one_click.type: {fix.type!r} is not an allowlisted "
                    f"{'agent action' if fix.kind == 'agent_action' else 'operation'} type "
                    f"(one of {', '.join(sorted(known))})",
                )
            )
    return problems
