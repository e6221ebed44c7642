"""``python manage.py match_fault < error.txt``: the fault fingerprints an error text or a log matches.

Prints a JSON list, best first, each with ``id``, ``title`` (English) and ``score``; ``[]`` when nothing matches.
Exit code 0 either way; 2 with ``FAULT_TEXT_UNREADABLE`` on standard error when the input is not UTF-8 text.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from controlplane.diagnostics.domain.errors import FaultTextUnreadable
from controlplane.diagnostics.selectors import fault_match


def decode(raw: bytes) -> str:
    """UTF-8 text (a byte-order mark dropped), or FaultTextUnreadable for bytes that are not text."""
    if b"\x00" in raw:
        raise FaultTextUnreadable("the input has NUL bytes: it is not a text (give an error text or a log)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FaultTextUnreadable(f"the input is not UTF-8 text (byte {error.start})") from error


def parse_metric(value: str) -> tuple[str, float]:
    name, sep, number = value.partition("=")
    try:
        if not sep or not name:
            raise ValueError(value)
        return name.strip(), float(number)
    except ValueError as error:
        raise CommandError(f"FAULT_METRIC_INVALID: --metric takes NAME=NUMBER, not {value!r}", returncode=2) from error


class Command(BaseCommand):
    help = "Match an error text or log on standard input against the fault library; print the matches as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--metric",
            action="append",
            default=[],
            metavar="NAME=NUMBER",
            help="a metric for fingerprints with conditions, e.g. checkpoint.timeout=500 (repeatable)",
        )
        parser.add_argument("--evidence", action="store_true", help="add each match's evidence lines")

    def handle(self, *args: Any, **options: Any) -> None:
        metrics = dict(parse_metric(m) for m in options["metric"])
        try:
            text = decode(sys.stdin.buffer.read())
        except OSError as error:
            raise CommandError(
                f"FAULT_TEXT_UNREADABLE: standard input cannot be read: {error}", returncode=2
            ) from error
        except FaultTextUnreadable as error:
            raise CommandError(f"{error.code}: {error.message}", returncode=2) from error
        found = [m.as_dict(with_evidence=options["evidence"]) for m in fault_match(text, metrics=metrics)]
        self.stdout.write(json.dumps(found, ensure_ascii=False, indent=2))
