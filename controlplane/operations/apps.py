from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "controlplane.operations"
    label = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        from controlplane.operations import projections, steps  # noqa: F401  (registers projectors and step kinds)
