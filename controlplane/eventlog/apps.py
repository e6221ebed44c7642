from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class EventLogConfig(AppConfig):
    name = "controlplane.eventlog"
    label = "eventlog"
    verbose_name = "Event log"

    def ready(self) -> None:
        # Each app's projections.py registers its projectors, its subscribers.py its subscribers; events register
        # on import.
        autodiscover_modules("projections", "subscribers")
