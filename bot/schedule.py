"""When a schedule is next due: pure functions of a local time, weekdays, a zone and an instant."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.timeparse import zone_from_name

_TICK = timedelta(microseconds=1)
FAR_FUTURE = datetime.fromisoformat("9999-01-01T00:00:00+00:00")  # "paused until /resume"


@functools.lru_cache(maxsize=4096)
def _trigger(hour: int, minute: int, days: str, zone: str) -> CronTrigger:
    # CronTrigger resolves DST: a nonexistent local time fires once, shifted past the gap.
    return CronTrigger(hour=hour, minute=minute, day_of_week=days, timezone=zone_from_name(zone))


def parse_hhmm(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def local_date(instant: datetime, zone: str) -> date:
    return instant.astimezone(zone_from_name(zone)).date()


def next_due(local_time: str, days: str, zone: str, after: datetime) -> datetime:
    """The first due instant strictly after `after`, at most one per local date.

    On a fall-back day the same wall-clock time happens twice; CronTrigger would fire at both,
    so the second is skipped here (the delivery key would refuse it anyway).
    """
    at = parse_hhmm(local_time)
    trigger = _trigger(at.hour, at.minute, days, zone)
    tz = zone_from_name(zone)
    previous_date = after.astimezone(tz).date()
    candidate = _after(trigger, after)
    while candidate.astimezone(tz).date() == previous_date and _fired_on(trigger, after, tz):
        candidate = _after(trigger, candidate)
    return candidate


def _after(trigger: CronTrigger, instant: datetime) -> datetime:
    # Step in UTC: wall-clock arithmetic on an aware datetime drops `fold` and loops on fall-back.
    result: datetime = trigger.get_next_fire_time(None, instant.astimezone(UTC) + _TICK)
    return result.astimezone(UTC)


def _fired_on(trigger: CronTrigger, after: datetime, tz: object) -> bool:
    """Whether the trigger already fired on `after`'s local date, at or before `after`."""
    day_start = after.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)  # type: ignore[arg-type]
    first: datetime = trigger.get_next_fire_time(None, day_start)
    return first <= after


def first_due(
    local_time: str, days: str, zone: str, now: datetime, paused_until: datetime | None
) -> datetime | None:
    """When a schedule is first due from `now`, honouring a pause; None while paused for good."""
    if paused_until is not None and paused_until >= FAR_FUTURE:
        return None
    start = max(now, paused_until) if paused_until else now
    at = parse_hhmm(local_time)
    trigger = _trigger(at.hour, at.minute, days, zone)
    result: datetime = trigger.get_next_fire_time(None, start.astimezone(UTC))
    return result.astimezone(UTC)
