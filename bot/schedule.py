"""When a schedule is next due: pure functions of a local time, weekdays, a zone and an instant."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from bot.timeparse import days_from_cron, zone_from_name

FAR_FUTURE = datetime.fromisoformat("9999-01-01T00:00:00+00:00")  # "paused until /resume"
_TICK = timedelta(microseconds=1)
_LOOKAHEAD = 9  # local dates to look at: a week of weekdays, plus the day before and after


def parse_hhmm(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def local_date(instant: datetime, zone: str) -> date:
    return instant.astimezone(zone_from_name(zone)).date()


def as_utc(instant: datetime) -> datetime:
    """A stored instant, aware: SQLite hands back naive datetimes, which Tandem wrote in UTC."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


@functools.lru_cache(maxsize=1024)
def _weekdays(days: str) -> frozenset[int]:
    return days_from_cron(days) or frozenset(range(7))


def wall_instant(day: date, at: time, tz: tzinfo) -> datetime:
    """The instant (UTC) the wall clock shows `at` on the local `day`, once per local date.

    On a fall-back night the time happens twice: this is the first pass (fold=0). A time that
    does not exist (a spring-forward gap, which in Havana, Santiago, Beirut or Cairo starts at
    midnight) is moved forward by the gap's length, so 00:30 in a 00:00-01:00 gap is 01:30, the
    same local date. zoneinfo resolves both with the offset in force before the transition.
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def next_due(local_time: str, days: str, zone: str, after: datetime) -> datetime:
    """The first due instant strictly after `after`, at most one per local date.

    Each allowed local date has exactly one instant (`wall_instant`), so a fall-back night's
    second pass never comes due, and a spring-forward gap at midnight never skips its day.
    """
    at = parse_hhmm(local_time)
    tz = zone_from_name(zone)
    allowed = _weekdays(days)
    start = after.astimezone(tz).date() - timedelta(days=1)  # a shifted time may cross midnight
    for offset in range(_LOOKAHEAD):
        day = start + timedelta(days=offset)
        if day.weekday() not in allowed:
            continue
        candidate = wall_instant(day, at, tz)
        if candidate > after:
            return candidate
    raise ValueError(f"no due date within a week for days {days!r}")  # pragma: no cover


def first_due(
    local_time: str, days: str, zone: str, now: datetime, paused_until: datetime | None
) -> datetime | None:
    """When a schedule is first due from `now` (inclusive), honouring a pause; None while paused
    for good. The same one-per-local-date rule as `next_due`."""
    if paused_until is not None and paused_until >= FAR_FUTURE:
        return None
    start = max(now, paused_until) if paused_until else now
    return next_due(local_time, days, zone, start - _TICK)
