"""Every counter and histogram the control plane's processes update, in one module (docs/METRICS.md, ADR 0028).

Defined here, at the bottom of the layers, so that any app (the event log included) can count without importing
the metrics app above it. Values live in the process, or, when ``PROMETHEUS_MULTIPROC_DIR`` is set by the process
launcher, in files of that directory which ``/metrics`` sums over every process of the host (prometheus-client's
multiprocess mode). What is a count of rows (runs, operations, agents) is not here: it is computed at scrape
(``controlplane/metrics/collectors.py``).

Labels take bounded values only: route patterns, not paths; an event type's context, not its stream; a channel
kind from a fixed list. ``tests/metrics/test_exposition.py`` walks every exported sample and fails otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import Counter, Histogram, disable_created_metrics

# No `*_created` series: Prometheus does not use them in the text format, and they double the series of each counter.
disable_created_metrics()  # type: ignore[no-untyped-call]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# --- HTTP ------------------------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "controlplane_http_requests_total",
    "HTTP requests answered, by URL pattern (never the raw path), method and status code",
    ["route", "method", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "controlplane_http_request_duration_seconds",
    "Time from the first middleware to the response, by URL pattern and method",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# --- event log -------------------------------------------------------------------------------------------------
EVENTS_APPENDED = Counter(
    "controlplane_events_appended_total",
    "Events committed to the log, by the context of their type (the part of the wire name before the dot)",
    ["context"],
)
UNKNOWN_SKIPPED = Counter(
    "controlplane_eventlog_unknown_events_skipped_total",
    "Events of a type this release does not know, skipped by a projector or subscriber",
    ["consumer"],
)

# --- notifications (controlplane/notifications counts each delivery and each failed attempt) -----------------
CHANNEL_KINDS = ("email", "dingtalk", "wecom", "feishu", "webhook")
NOTIFICATION_DELIVERIES = Counter(
    "controlplane_notification_deliveries_total",
    "Notifications delivered to a channel, by channel kind",
    ["channel_kind"],
)
NOTIFICATION_FAILURES = Counter(
    "controlplane_notification_failures_total",
    "Notification delivery attempts that failed, by channel kind (a retried delivery counts each failure)",
    ["channel_kind"],
)
for _kind in CHANNEL_KINDS:  # present at 0 from the start, so rate() and absent-series alerts work
    NOTIFICATION_DELIVERIES.labels(_kind)
    NOTIFICATION_FAILURES.labels(_kind)


def event_context(wire_name: str) -> str:
    """``jobs.run_started`` -> ``jobs``: the label of EVENTS_APPENDED (registered types only reach the log)."""
    return wire_name.split(".", 1)[0] or "other"


def count_notification(channel_kind: str, *, delivered: bool) -> None:
    kind = channel_kind if channel_kind in CHANNEL_KINDS else "other"
    (NOTIFICATION_DELIVERIES if delivered else NOTIFICATION_FAILURES).labels(kind).inc()


def prepare_multiprocess_dir(path: Path) -> Path:
    """Create the multiprocess directory or empty it of a previous run's files; call before any child starts.

    Stale files would add a dead run's counts to the new one's (and prometheus-client's documentation requires an
    empty directory at start). Only the ``*.db`` files prometheus-client writes are removed."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)
    return path


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode when this process runs in it, else None."""
    return os.environ.get(MULTIPROC_ENV) or None
