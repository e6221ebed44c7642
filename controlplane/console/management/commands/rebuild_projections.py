from django.core.management.base import BaseCommand, CommandError

from controlplane.audit.recorder import record_command
from controlplane.eventlog.maintenance import RebuildRefused, rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the read models in place by replaying the event log (appends wait meanwhile); only rows "
        "that differ from the log are written, nothing else is touched (ADR 0016)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("projectors", nargs="*", help="projector names (default: all)")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        names = options["projectors"] or None
        changes: dict = {}
        try:
            applied = rebuild(names, changes=changes)
        except RebuildRefused as exc:
            record_command(
                "rebuild_projections",
                resource_type="read_models",
                result="failed",
                error_code=exc.code,
                details={"projectors": names, "references": exc.details.get("references", [])},
            )
            raise CommandError(str(exc)) from None
        except ValueError as exc:
            record_command(
                "rebuild_projections",
                resource_type="read_models",
                result="failed",
                error_code="PROJECTOR_UNKNOWN",
                details={"projectors": names},
            )
            raise CommandError(str(exc)) from None
        changed = {t: vars(c) for t, c in changes.items() if c.inserted or c.updated or c.deleted}
        record_command(
            "rebuild_projections", resource_type="read_models", result="ok", details={**applied, "changed": changed}
        )
        for name, count in sorted(applied.items()):
            self.stdout.write(f"{name}: replayed {count} events")
        for table, c in sorted(changed.items()):
            self.stdout.write(f"{table}: {c['inserted']} inserted, {c['updated']} updated, {c['deleted']} deleted")
        if not changed:
            self.stdout.write("every read model already matched the log")
