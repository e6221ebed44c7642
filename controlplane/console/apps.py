"""The ops console (docs/CONSOLE.md): the Django admin with django-unfold's theme, the tenant pages in
``pages/``, and the embedded-default runner (`make run`) with the demo seed."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    name = "controlplane.console"
    label = "console"
    verbose_name = _("Console")
