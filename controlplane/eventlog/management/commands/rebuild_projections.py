from django.core.management.base import BaseCommand, CommandError

from controlplane.audit.recorder import record_command
from controlplane.eventlog.maintenance import rebuild


class Command(BaseCommand):
    help = "Empty the read models and rebuild them by replaying the event log (appends wait meanwhile)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("projectors", nargs="*", help="projector names (default: all)")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        names = options["projectors"] or None
        try:
            applied = rebuild(names)
        except ValueError as exc:
            record_command(
                "rebuild_projections",
                resource_type="read_models",
                result="failed",
                error_code="PROJECTOR_UNKNOWN",
                details={"projectors": names},
            )
            raise CommandError(str(exc)) from None
        record_command("rebuild_projections", resource_type="read_models", result="ok", details=applied)
        for name, count in sorted(applied.items()):
            self.stdout.write(f"{name}: replayed {count} events")
