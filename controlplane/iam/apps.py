from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IamConfig(AppConfig):
    name = "controlplane.iam"
    label = "iam"
    verbose_name = _("Identity and access")

    def ready(self) -> None:
        from auditlog.registry import auditlog
        from django.contrib.auth import get_user_model
        from guardian.models import UserObjectPermission

        from controlplane.iam import signals  # noqa: F401  (login audit and throttling)
        from controlplane.iam.models import ApiToken, Membership

        # Tables that are not event-sourced get field-level change history (ADR 0001).
        auditlog.register(get_user_model(), exclude_fields=["password", "last_login"])
        auditlog.register(Membership)
        auditlog.register(ApiToken, exclude_fields=["key_hash", "last_used_at"])
        auditlog.register(UserObjectPermission)
