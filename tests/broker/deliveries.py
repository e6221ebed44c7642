"""What the broker tests' processes leave in their data directory, read without the Celery app: the messages the
worker ran (``deliveries.jsonl``) and the ticks beat published (``ticks-published.txt``); and the exact text each
producer's message carries."""

from __future__ import annotations

import json
from pathlib import Path


def deliveries_file(data_dir: Path) -> Path:
    return data_dir / "deliveries.jsonl"


def ticks_file(data_dir: Path) -> Path:
    return data_dir / "ticks-published.txt"


def payload(source: str, seq: int) -> str:
    """The exact text message ``seq`` of ``source`` carries: lengths from a few bytes to a few kilobytes, with
    quotes, backslashes, newlines and characters beyond ASCII, so a truncated or re-encoded one shows."""
    filler = 'é"\\\n🙂 tail ' * 300
    return f"{source}/{seq}/" + filler[: (seq * 97) % len(filler)]


def delivered(data_dir: Path) -> list[dict]:
    """What the worker has recorded so far (a line still being written is not counted)."""
    try:
        text = deliveries_file(data_dir).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]


def ticks_published(data_dir: Path) -> list[str]:
    try:
        return ticks_file(data_dir).read_text().split()
    except FileNotFoundError:
        return []
