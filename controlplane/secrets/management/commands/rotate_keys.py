from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from controlplane.audit.recorder import command_actor, record_command
from controlplane.eventlog.metadata import Metadata
from controlplane.secrets.actions import ROTATION_BATCH, do_rotate_keys
from controlplane.secrets.domain.errors import SecretsError
from controlplane.secrets.keys import get_provider
from controlplane.secrets.models import SecretVersion


class Command(BaseCommand):
    help = (
        "Re-wrap every secret's data key that is wrapped by a non-active master key with the active one, "
        "in small transactions (no downtime). Run after putting a new key first in the key configuration."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--batch-size", type=int, default=ROTATION_BATCH, help="versions per transaction")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        moved: Counter = Counter()
        metadata = Metadata.for_system(None, reason=command_actor("rotate_keys"))
        try:
            provider = get_provider()
            active = provider.active_key_id()
            do_rotate_keys(metadata=metadata, batch_size=options["batch_size"], progress=moved.update)
            idle = [
                k for k in provider.key_ids() if k != active and not SecretVersion.objects.filter(kek_id=k).exists()
            ]
        except SecretsError as exc:
            record_command(
                "rotate_keys",
                resource_type="secret_keys",
                result="failed",
                error_code=exc.code,
                details={"rewrapped": dict(moved)},
            )
            done = f" (re-wrapped {sum(moved.values())} before stopping)" if moved else ""
            raise CommandError(f"{exc.code}: {exc.message}{done}") from None
        record_command(
            "rotate_keys", resource_type="secret_keys", result="ok", details={"to": active, "rewrapped": dict(moved)}
        )
        if moved:
            sources = ", ".join(f"{count} from {kek_id}" for kek_id, count in sorted(moved.items()))
            self.stdout.write(f"re-wrapped {sum(moved.values())} data keys to {active}: {sources}")
        else:
            self.stdout.write(f"nothing to re-wrap: every data key is wrapped by {active}")
        if idle:
            self.stdout.write(
                f"no data key uses {', '.join(idle)} any more; it can be removed from the key configuration"
            )
