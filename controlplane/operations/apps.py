from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "controlplane.operations"
    label = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        from controlplane.operations import install, projections, steps  # noqa: F401  (projectors, step kinds, types)
