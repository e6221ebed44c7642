"""Zeta job states as the REST API names them (ZETA_FACTS §2.1), shared by the client and the emulator."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    INITIALIZING = "INITIALIZING"
    CREATED = "CREATED"
    PENDING = "PENDING"
    SCHEDULED = "SCHEDULED"
    RUNNING = "RUNNING"
    FAILING = "FAILING"
    FAILED = "FAILED"
    DOING_SAVEPOINT = "DOING_SAVEPOINT"
    SAVEPOINT_DONE = "SAVEPOINT_DONE"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"
    FINISHED = "FINISHED"
    UNKNOWABLE = "UNKNOWABLE"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset(
    {JobState.FAILED, JobState.SAVEPOINT_DONE, JobState.CANCELED, JobState.FINISHED, JobState.UNKNOWABLE}
)

# The states /finished-jobs/{state} accepts as a filter.
FINISHED_FILTER_STATES = frozenset(
    {JobState.FINISHED, JobState.CANCELED, JobState.FAILED, JobState.SAVEPOINT_DONE, JobState.UNKNOWABLE}
)


def parse_version(text: str) -> tuple[int, ...]:
    """'2.3.10-SNAPSHOT' -> (2, 3, 10); unparseable parts stop the tuple."""
    parts: list[int] = []
    for piece in text.strip().split("-", 1)[0].split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


# REST v2 (Jetty, port 8080) exists from 2.3.9 on; older clusters only have the v1 Hazelcast paths.
REST_V2_SINCE = (2, 3, 9)

# /overview (v1 /hazelcast/rest/maps/overview) appears in 2.3.6 (RestConstant.OVERVIEW); 2.3.0-2.3.5 lack it and
# are refused with ZETA_UNSUPPORTED_VERSION.
OVERVIEW_SINCE = (2, 3, 6)
