"""Upcasters of job events that need more than the pure core may import (the config reader).

``jobs.job_version_added`` v2 -> v3: versions stored before dotted keys were kept flat hold the split normal form
(`{"checkpoint": {"interval": 5000}}`), which the engine ignores or refuses (ZETA_FACTS §3.1). The upcast reads the
version's text again (``upcast_normal_form``); when that does not give back the stored form, the engine's rules
flatten the env and the map options, and the nested plugin options left undecided are kept in ``ambiguous`` for a
person to check. Stored rows are never rewritten: this runs on every read of an old event.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from controlplane.eventlog.types import upcaster
from controlplane.seatunnel.config.upcast import upcast_normal_form


@functools.lru_cache(maxsize=512)
def _flat(normalised_json: str, text: str, fmt: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    # Reading HOCON again is the cost of an upcast; a job's stream is replayed on every load of the job (between
    # snapshots) and by every rebuild, so the same old version is upcast once per process.
    result = upcast_normal_form(json.loads(normalised_json), text=text, fmt=fmt)
    return result.normalised, () if result.exact else result.ambiguous


def flat_normal_form(normalised: dict[str, Any], *, text: str | None, fmt: str) -> tuple[dict[str, Any], list[str]]:
    """The flat-key normal form of a stored one, and the options it could not settle (none when exact)."""
    if text is None:
        result = upcast_normal_form(normalised, fmt=fmt)
        return result.normalised, list(result.ambiguous)
    flat, ambiguous = _flat(json.dumps(normalised, sort_keys=True), text, fmt)
    return copy.deepcopy(flat), list(ambiguous)


@upcaster("jobs.job_version_added", from_version=2)
def _version_added_v2(payload: dict[str, Any]) -> dict[str, Any]:
    normalised, ambiguous = flat_normal_form(payload["normalised"], text=payload.get("text"), fmt=payload["format"])
    return {**payload, "normalised": normalised, "ambiguous": ambiguous}
