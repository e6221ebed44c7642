"""Secrets out of config text before it leaves the node (snapshot.version_config, diagnostics.collect).

Works on the text, not a parsed tree, so one pass covers seatunnel.yaml, hazelcast*.yaml, HOCON and JSON
job configs and .properties files, and keeps comments and layout for the reader. A value is replaced when
its key names a secret (password, passwd, pwd, secret, token, credential, an access/secret/private/api
key, a JAAS config); so is the password in a URL's user info (jdbc:mysql://u:p@host) and in an inline
`password="..."` (a JAAS line). Redacting too much is preferred to leaking: a `token-expiry` key loses its
value too.
"""

from __future__ import annotations

import re

MASK = "***REDACTED***"

# Key names to look for, not a secret.
_SENSITIVE_NAMES = r"pass(?:word|wd)|pwd|secret|token|credential|jaas\.config|" + (
    r"(?:access|secret|private|api|auth|encryption|master|signing|sign)[-_.]?key"
)
# key (bare or quoted), then : or =, then a value (quoted string, or up to the end of the line / a comma /
# a closing brace). HOCON also allows `key { ... }` objects; those hold keys of their own, handled on their lines.
_ASSIGNMENT = re.compile(
    r"""(?P<key>(?P<q>["']?)[\w.\-]*(?:""" + _SENSITIVE_NAMES + r""")[\w.\-]*(?P=q))"""
    r"""(?P<sep>\s*[:=]\s*)"""
    r"""(?P<value>"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s,}\]#\n][^,}\]#\n]*?)(?=\s*(?:[,}\]#\n]|$))""",
    re.IGNORECASE | re.MULTILINE,
)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][\w+.-]*://)(?P<user>[^:/@\s\"']+):(?P<password>[^@/\s\"']+)@", re.I)
_INLINE = re.compile(r"""(?P<key>\b(?:password|passwd|pwd)\s*=\s*)(?P<value>\\?"[^"\\]*\\?"|'[^']*')""", re.I)
# A YAML block scalar (`password: |`) carries its value on the following, more indented lines.
_BLOCK = re.compile(r"^(?P<indent>\s*)(?P<key>[\w.\-]*(?:" + _SENSITIVE_NAMES + r")[\w.\-]*)\s*:\s*[|>][-+]?\s*$", re.I)


def redact(text: str) -> str:
    text = _redact_blocks(text)
    text = _ASSIGNMENT.sub(_mask_assignment, text)
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _INLINE.sub(_mask_inline, text)


def _mask_assignment(match: re.Match[str]) -> str:
    value = match["value"]
    if value in ("|", ">", "|-", ">-", "{", "["):
        return match[0]  # a block scalar or an object/list: its content is on the next lines
    if value.lower() in ("true", "false", "null", "~", '""', "''"):
        return match[0]  # a switch (enable-basic-auth) or an empty value is no secret
    quote = value[0] if value[0] in "\"'" else ""
    return f"{match['key']}{match['sep']}{quote}{MASK}{quote}"


def _mask_inline(match: re.Match[str]) -> str:
    value = match["value"]
    if value.startswith('\\"'):
        return f'{match["key"]}\\"{MASK}\\"'
    return f"{match['key']}{value[0]}{MASK}{value[0]}"


def _redact_blocks(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    block_indent: int | None = None
    for line in lines:
        if block_indent is not None:
            stripped = line.strip()
            indent = len(line) - len(line.lstrip())
            if not stripped or indent > block_indent:
                if stripped:  # one mask per content line keeps the line numbers
                    out.append(" " * indent + MASK)
                else:
                    out.append(line)
                continue
            block_indent = None
        match = _BLOCK.match(line)
        if match:
            block_indent = len(match["indent"])
        out.append(line)
    return "\n".join(out)
