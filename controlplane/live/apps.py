from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "controlplane.live"
    label = "live"
    verbose_name = "Live progress"

    def ready(self) -> None:
        from django.conf import settings

        from controlplane.live import broadcasts, commit_notices  # noqa: F401  (broadcasts registers presenters)

        # With Redis every process that appends (web, worker, beat, commands) announces what it committed,
        # so tailers wake at once instead of at their next poll.
        if settings.REDIS_URL:
            commit_notices.install(settings.REDIS_URL)
