from django.core.management.base import BaseCommand, CommandError

from controlplane.eventlog.maintenance import rebuild


class Command(BaseCommand):
    help = "Empty the read models and rebuild them by replaying the event log (appends wait meanwhile)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("projectors", nargs="*", help="projector names (default: all)")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        try:
            applied = rebuild(options["projectors"] or None)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        for name, count in sorted(applied.items()):
            self.stdout.write(f"{name}: replayed {count} events")
