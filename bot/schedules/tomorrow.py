"""The console's /tomorrow: its clock moved on a day, stopping at each due time on the way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Protocol, runtime_checkable

from sqlmodel import col, select

from bot.schedule import as_utc, local_date, next_due
from bot.store import Promise, PromiseStatus, Schedule, Space, Store
from bot.timeparse import zone_from_name

# Where /tomorrow stops: just past the last daily time of the next day, so that day's prompt and
# check-in have both come.
JUST_PAST = timedelta(seconds=30)
DAILY = ("prompt", "checkin")
MAX_STOPS = 50  # a day holds a few due times; a bound keeps a bad row from looping for ever


@runtime_checkable
class Movable(Protocol):
    def now(self) -> datetime: ...

    def move_to(self, instant: datetime) -> None: ...


async def tomorrow(
    store: Store, platform: str, clock: Movable, dispatch: Callable[[], Awaitable[object]]
) -> tuple[datetime, str]:
    """Moves `clock` to just past the last daily time (prompt, check-in) of the next local day
    of the platform's spaces (the same time tomorrow if none is set), and on the way stops at
    every due time (a look back, a promise's follow-up, today's check-in still to come) to
    deliver what is due then, so each arrives at its own time and none is missed. Returns
    where the clock stopped, and the zone it was reckoned in."""
    now = clock.now()
    target, zone = await _end_of_tomorrow(store, platform, now)
    for _ in range(MAX_STOPS):
        at = await _next_due(store, platform, clock.now(), target)
        if at is None:
            break
        clock.move_to(at)
        await dispatch()
    clock.move_to(target)
    await dispatch()
    return target, zone


async def _end_of_tomorrow(store: Store, platform: str, now: datetime) -> tuple[datetime, str]:
    async with store.read() as session:
        found = await session.exec(
            select(Space.timezone, Schedule.local_time, Schedule.weekdays)
            .join(Schedule, col(Schedule.space_id) == Space.id)
            .where(
                Space.platform == platform,
                col(Space.active).is_(True),
                col(Schedule.kind).in_(DAILY),
                col(Schedule.next_due_at).is_not(None),
            )
        )
        rows = found.all()
        zones = (await session.exec(select(Space.timezone).where(Space.platform == platform))).all()
    zone = rows[0][0] if rows else (zones[0] if zones else "UTC")
    day = local_date(now, zone) + timedelta(days=1)
    start = datetime.combine(day, time(0), zone_from_name(zone)) - timedelta(microseconds=1)
    times = [
        due for tz, at, days in rows if local_date(due := next_due(at, days, tz, start), tz) == day
    ]
    return (max(times) + JUST_PAST if times else now + timedelta(days=1)), zone


async def _next_due(store: Store, platform: str, now: datetime, until: datetime) -> datetime | None:
    """The earliest due time after now and before `until` of the platform's spaces."""
    async with store.read() as session:
        schedules = await session.exec(
            select(Schedule.next_due_at)
            .join(Space, col(Space.id) == Schedule.space_id)
            .where(
                Space.platform == platform,
                col(Space.active).is_(True),
                col(Schedule.next_due_at) > now,
                col(Schedule.next_due_at) < until,
            )
        )
        promises = await session.exec(
            select(Promise.next_ask_at)
            .join(Space, col(Space.id) == Promise.space_id)
            .where(
                Space.platform == platform,
                col(Space.active).is_(True),
                Promise.status == PromiseStatus.OPEN,
                col(Promise.next_ask_at) > now,
                col(Promise.next_ask_at) < until,
            )
        )
        found = [as_utc(at) for at in [*schedules.all(), *promises.all()] if at is not None]
    return min(found, default=None)
