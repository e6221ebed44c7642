from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class EventLogConfig(AppConfig):
    name = "controlplane.eventlog"
    label = "eventlog"
    verbose_name = _("Event log")

    def ready(self) -> None:
        # Each app's projections.py registers its projectors, its subscribers.py its subscribers; events register
        # on import.
        autodiscover_modules("projections", "subscribers")
