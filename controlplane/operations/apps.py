from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    name = "controlplane.operations"
    label = "operations"
    verbose_name = _("Operations")

    def ready(self) -> None:
        from controlplane.operations import install, projections, steps  # noqa: F401  (projectors, step kinds, types)
