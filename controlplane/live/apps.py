from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveConfig(AppConfig):
    name = "controlplane.live"
    label = "live"
    verbose_name = _("Live progress")

    def ready(self) -> None:
        from django.conf import settings

        from controlplane.live import broadcasts, commit_notices  # noqa: F401  (broadcasts registers presenters)

        # With Redis every process that appends (web, worker, beat, commands) announces what it committed,
        # so tailers wake at once instead of at their next poll.
        if settings.REDIS_URL:
            commit_notices.install(settings.REDIS_URL)
