"""The ops console (docs/CONSOLE.md): the Django admin with django-unfold's theme, the tenant pages in
``pages/``, and the embedded-default runner (`make run`) with the demo seed."""

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "controlplane.console"
    label = "console"
    verbose_name = "Console"
