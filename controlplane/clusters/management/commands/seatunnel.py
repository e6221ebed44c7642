"""`python manage.py seatunnel install|upgrade|rollback|uninstall|plan|status ...`: the installer on this host,
with the same flags and exit codes as the agent's standalone CLI (`python -m agent.install`, docs/INSTALLER.md).
It only parses and calls the installer core; nothing here is registered in the control plane (yet)."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from agent import install


class Command(BaseCommand):
    help = "Install, upgrade, roll back or uninstall SeaTunnel on this host (docs/INSTALLER.md)."

    def run_from_argv(self, argv: list[str]) -> None:
        # The installer's own parser (subcommands, its exit codes), not Django's: argv[2:] follows `seatunnel`.
        sys.exit(install.main(argv[2:]))

    def print_help(self, prog_name: str, subcommand: str) -> None:
        install.build_parser().print_help()

    def handle(self, *args: str, **options: object) -> None:  # call_command: the same, from a list of words
        sys.exit(install.main(list(args)))
