from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "controlplane.api"
    label = "api"
    verbose_name = _("API")

    def ready(self) -> None:
        from controlplane.api import schema  # noqa: F401  (registers OpenAPI extensions)
