from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DiagnosticsConfig(AppConfig):
    name = "controlplane.diagnostics"
    label = "diagnostics"
    verbose_name = _("Diagnostics")

    def ready(self) -> None:
        # the fault library's system check, the diagnose operation type and its step kinds, the archive projector
        from controlplane.diagnostics import checks, diagnose, projections  # noqa: F401
