"""``python manage.py prometheus_targets --out DIR``: write Prometheus file_sd targets of every engine.

Run it from cron or a systemd timer (Prometheus re-reads the file when it changes); docs/METRICS.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from controlplane.metrics import targets


class Command(BaseCommand):
    help = "Write Prometheus file_sd JSON for each registered cluster's engine /metrics and each agent's node."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, help=f"directory to write {targets.FILE_NAME} into")

    def handle(self, *args: object, **options: object) -> None:
        out = options["out"]
        if out is None:
            self.stdout.write(json.dumps(targets.file_sd(), indent=2, sort_keys=True))
            return
        assert isinstance(out, Path)
        written = targets.write_file_sd(out)
        self.stdout.write(f"wrote {len(targets.file_sd())} target group(s) to {written}")
