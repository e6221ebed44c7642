"""The control plane's one redaction function for everything a diagnostic archive holds. Text goes through the
agent's own redaction (``agent/redact.py``: key = value in YAML, HOCON, JSON and properties, URL user info, JAAS
lines), so a node's bundle and the control plane's REST answers are masked by the same rules, and a bundle from an
older agent is masked again here. JSON is walked as a tree too: a value under a secret-looking key is masked
whatever its type, which a line-wise pass cannot see in a one-line JSON document."""

from __future__ import annotations

import json
import re
from typing import Any

from agent.redact import MASK, redact

SENSITIVE_KEY = re.compile(
    r"pass(?:word|wd)|pwd|secret|token|credential|jaas\.config|"
    r"(?:access|secret|private|api|auth|encryption|master|signing|sign)[-_.]?key",
    re.IGNORECASE,
)


def redact_text(text: str) -> str:
    return redact(text)


def redact_value(value: Any) -> Any:
    """A JSON value with every secret-looking key's value masked and every string redacted as text."""
    if isinstance(value, dict):
        return {key: (MASK if _secret(key, item) else redact_value(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    if isinstance(value, str):
        return redact(value)
    return value


def _secret(key: object, value: Any) -> bool:
    if not isinstance(key, str) or not SENSITIVE_KEY.search(key):
        return False
    return value not in (None, "", True, False)  # a switch or an empty value is no secret


def redact_json_bytes(data: bytes) -> bytes:
    """A JSON document redacted as a tree; text that is not JSON is redacted as text."""
    try:
        parsed = json.loads(data)
    except ValueError:
        return redact_text(data.decode(errors="replace")).encode()
    return json.dumps(redact_value(parsed), indent=1, ensure_ascii=False).encode()


TEXT_SUFFIXES = (
    ".json",
    ".yaml",
    ".yml",
    ".conf",
    ".config",
    ".properties",
    ".hocon",
    ".sh",
    ".log",
    ".txt",
    ".out",
    ".xml",
    "_options",
    ".sql",
)


def redact_member(name: str, data: bytes) -> bytes:
    """One file of the archive: JSON as a tree, other text line-wise; bytes that are not text are kept (the agent
    sends only text; a binary file has no key = value to mask)."""
    if name.endswith(".json"):
        return redact_json_bytes(data)
    if b"\x00" in data[:8192]:
        return data
    return redact_text(data.decode(errors="replace")).encode()
