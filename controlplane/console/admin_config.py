"""``django.contrib.admin`` whose default site is the console's (site.py): every ``@admin.register`` lands there.
In a module of its own: Django picks an app's config from its ``apps.py`` and would find two there."""

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    default_site = "controlplane.console.site.ConsoleSite"
