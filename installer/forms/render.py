"""One entry point for the core: the files of a form by its `--form` name."""

from __future__ import annotations

from collections.abc import Callable

from installer.forms import Deployment, FormError
from installer.forms.compose import render_compose
from installer.forms.kubernetes import render_kubernetes
from installer.forms.systemd import UNIT_DIR, render_units

__all__ = ["FORMS", "render"]

# --form name -> (renderer, where its relative paths go: a fixed directory, or None when the caller picks one).
FORMS: dict[str, tuple[Callable[[Deployment], dict[str, str]], str | None]] = {
    "systemd": (render_units, UNIT_DIR),
    "compose": (render_compose, None),
    "k8s": (render_kubernetes, None),
}


def render(d: Deployment, form: str) -> dict[str, str]:
    """The files of `form` (relative path -> text). The process form writes no deployment files: the core's."""
    if form not in FORMS:
        raise FormError(f"form {form!r} has no deployment files here: choose one of {', '.join(FORMS)}")
    renderer, _ = FORMS[form]
    return renderer(d)
