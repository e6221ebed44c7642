from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "controlplane.jobs"
    label = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        from controlplane.jobs import broadcasts  # noqa: F401  (registers the live messages' presenters)
