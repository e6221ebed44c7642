"""Cron schedules of jobs: validation and fire times. Pure: no Django.

Five cron fields (minute hour day-of-month month day-of-week), read in the schedule's IANA time zone, so
"0 2 * * *" in Asia/Shanghai is 02:00 Beijing time all year and a DST zone keeps its wall-clock time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from controlplane.errors import DomainError

MISSED_CAP = 1000
_REFERENCE = datetime(2001, 1, 1, tzinfo=UTC)


class ScheduleInvalid(DomainError):
    code = "JOB_SCHEDULE_INVALID"


def check(cron: str, timezone: str) -> tuple[str, str]:
    cron = " ".join(cron.split())
    if len(cron.split(" ")) != 5 or not croniter.is_valid(cron):
        raise ScheduleInvalid(
            f"{cron!r} is not a 5-field cron expression (minute hour day-of-month month day-of-week)", field="cron"
        )
    try:  # 8 years from a fixed date cover every calendar case, 29 February included; "0 0 31 2 *" matches none
        croniter(cron, _REFERENCE, max_years_between_matches=8).get_next(datetime)
    except CroniterBadDateError:
        raise ScheduleInvalid(f"{cron!r} never fires (no such date)", field="cron") from None
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleInvalid(
            f"{timezone!r} is not an IANA time zone (e.g. UTC, Asia/Shanghai)", field="timezone"
        ) from None
    return cron, timezone


def next_fire_times(cron: str, timezone: str, after: datetime, count: int = 1) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after``, in UTC."""
    zone = ZoneInfo(timezone)
    it = croniter(cron, after.astimezone(zone))
    return [it.get_next(datetime).astimezone(UTC) for _ in range(count)]


def due(cron: str, timezone: str, last: datetime, now: datetime) -> tuple[datetime | None, int]:
    """The latest fire time in (last, now], and how many earlier ones in that window were missed (counted up to
    MISSED_CAP: after a long outage only the latest fire time runs)."""
    zone = ZoneInfo(timezone)
    latest = croniter(cron, (now + timedelta(seconds=1)).astimezone(zone)).get_prev(datetime).astimezone(UTC)
    if latest <= last:
        return None, 0
    missed = 0
    it = croniter(cron, last.astimezone(zone))
    while missed < MISSED_CAP and it.get_next(datetime).astimezone(UTC) < latest:
        missed += 1
    return latest, missed
