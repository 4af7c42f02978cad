"""Cron schedules: five-field expressions read by croniter, in an IANA time zone, with an end.

Times leave this module as fixed-width UTC text (as utc_now() writes them), so that string order
is time order on SQLite and both backends store the same values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from graphdock.errors import InvalidRequest

_FIELDS = "minute hour day-of-month month day-of-week"


def check_schedule(schedule: str) -> str:
    """The schedule, or 422 naming it: exactly five fields that croniter can read."""
    fields = schedule.split()
    if len(fields) != 5 or not croniter.is_valid(" ".join(fields)):
        raise InvalidRequest(
            f"schedule: {schedule!r} is not a cron schedule; expected five fields ({_FIELDS}),"
            " e.g. '*/5 * * * *' for every five minutes"
        )
    return " ".join(fields)


def check_timezone(timezone: str | None) -> ZoneInfo:
    """The zone a schedule is read in (UTC when None), or 422 naming an unknown one."""
    if timezone is None:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(
            f"timezone: {timezone!r} is not a known IANA time zone (e.g. 'Europe/Paris', 'UTC')"
        ) from None


def check_end_time(end_time: datetime | None, now: datetime) -> str | None:
    """The end as UTC text; an end in the past is 422 (such a cron would never fire)."""
    if end_time is None:
        return None
    if end_time.tzinfo is None:
        end_time = end_time.replace(tzinfo=UTC)  # as the SDK documents: times are UTC unless zoned
    if end_time <= now:
        raise InvalidRequest(f"end_time: {end_time.isoformat()} is in the past; a cron needs an end to come")
    return utc_text(end_time)


def next_firing(schedule: str, timezone: str | None, after: datetime, end_time: str | None) -> str | None:
    """The first firing strictly after `after`, or None when there is none before `end_time`."""
    zone = check_timezone(timezone)
    try:
        moment: datetime = croniter(schedule, after.astimezone(zone)).get_next(datetime)
    except (CroniterBadDateError, CroniterBadCronError):
        return None  # e.g. "0 0 31 2 *": no such day
    when = utc_text(moment)
    if end_time is not None and when > end_time:
        return None
    return when


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)
