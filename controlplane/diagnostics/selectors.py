"""Readers of the fault library: matching a text, and the fault of a failed run (computed when read, never
stored: the run's error text is the record, and a better library gives old runs better answers)."""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from django.db.models import QuerySet

from controlplane.diagnostics.domain.library import LANGUAGES
from controlplane.diagnostics.domain.matcher import Match, match
from controlplane.diagnostics.library import fault_library
from controlplane.diagnostics.models import DiagnosticArchive, Finding

FAILED = "FAILED"
ENV_METRICS = ("checkpoint.interval", "checkpoint.timeout")  # a run's env settings the conditions may name


class FailedRun(Protocol):
    """What a run's fault is read from (``jobs.models.Run``; named by shape, diagnostics sits above no app's
    models)."""

    state: str
    error: str
    manifest: Any


def language_of(code: str | None) -> str:
    """The library's language for a Django language code (``zh-hans`` -> ``zh-Hans``); English otherwise."""
    lowered = (code or "").lower()
    return "zh-Hans" if lowered.startswith("zh") else "en"


def fault_match(text: str, *, metrics: Mapping[str, float] | None = None, language: str = "en") -> list[Match]:
    """Every fingerprint that matches ``text``, best first; ``[]`` for no match."""
    return match(text, fault_library(), metrics=metrics, language=language if language in LANGUAGES else "en")


def run_fault(run: FailedRun, *, language: str = "en", log_text: str = "") -> dict[str, Any] | None:
    """The best match of a FAILED run's error text: id, title, score, severity, explanation and fix in
    ``language``, the evidence line, the one-click fix reference and ``source`` (``error``); when the error
    matches nothing, the best match of the engine's log of the run (``log_text``, the tail kept with the run;
    ``source`` ``log``). None for another state or no match."""
    if str(run.state) != FAILED:
        return None
    metrics = tuple(sorted(run_metrics(run).items()))
    found = _best(run.error, metrics, language) if run.error else None
    if found is not None:
        return {**deepcopy(found), "source": "error"}
    if log_text:
        from_log = _describe(fault_match(log_text, metrics=dict(metrics), language=language), language)
        return {**from_log, "source": "log"} if from_log is not None else None
    return None


@lru_cache(maxsize=256)
def _best(error: str, metrics: tuple[tuple[str, float], ...], language: str) -> dict[str, Any] | None:
    """Remembered per process: a page of runs is read again and again, and the library does not change while the
    process lives (it is loaded once). Callers get a copy."""
    return _describe(fault_match(error, metrics=dict(metrics), language=language), language)


def _describe(found: list[Match], language: str) -> dict[str, Any] | None:
    if not found or found[0].fingerprint is None:
        return None
    best, fingerprint = found[0], found[0].fingerprint
    fix = fingerprint.one_click
    return {
        "id": best.id,
        "title": best.title,
        "score": best.score,
        "severity": fingerprint.severity,
        "explanation": fingerprint.text("explanation", language),
        "fix": fingerprint.text("fix", language),
        "evidence": best.evidence[0].text if best.evidence else "",
        "one_click": {"kind": fix.kind, "type": fix.type, "params": dict(fix.params)} if fix else None,
    }


def run_metrics(run: FailedRun) -> dict[str, float]:
    """The numeric env settings of the run's config that metric conditions compare (``checkpoint.timeout``)."""
    manifest = run.manifest if isinstance(run.manifest, dict) else {}
    normalised = manifest.get("normalised")
    env = normalised.get("env") if isinstance(normalised, dict) else None
    if not isinstance(env, dict):
        return {}
    found: dict[str, float] = {}
    for key in ENV_METRICS:
        value = env.get(key)  # flat keys: the engine reads these from the raw env map (ZETA_FACTS §3.1)
        if isinstance(value, int | float) and not isinstance(value, bool):
            found[key] = float(value)
        elif isinstance(value, str) and value.strip().isdigit():
            found[key] = float(value)
    return found


# -- archives and findings -----------------------------------------------------------------------------------
def archive_list() -> QuerySet[DiagnosticArchive]:
    """The bound tenant's (and workspace's) archives, newest first."""
    return DiagnosticArchive.objects.all()


def finding_list() -> QuerySet[Finding]:
    return Finding.objects.all()


def archive_for_system(archive_id: str) -> DiagnosticArchive | None:
    """The pack step's check that its archive is recorded (an attempt after a crash)."""
    return DiagnosticArchive.unscoped.filter(id=archive_id).first()


def findings_of_archive_for_system(archive_id: str) -> list[Finding]:
    """An archive's findings, best first (the demo tells what its diagnosis found)."""
    return list(Finding.unscoped.filter(archive_id=archive_id).order_by("-score", "id"))


def due_archives_for_system(now: datetime) -> list[DiagnosticArchive]:
    """Archives past their retention whose file was not deleted yet (the retention task)."""
    return list(DiagnosticArchive.unscoped.filter(state="available", expires_at__lte=now).order_by("expires_at"))
