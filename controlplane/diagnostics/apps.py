from django.apps import AppConfig


class DiagnosticsConfig(AppConfig):
    name = "controlplane.diagnostics"
    label = "diagnostics"
    verbose_name = "Diagnostics"

    def ready(self) -> None:
        from controlplane.diagnostics import checks  # noqa: F401  (registers the fault library's system check)
