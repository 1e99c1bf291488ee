"""When a schedule comes due: once per local date, through DST gaps at midnight and fall-back nights."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.schedule import first_due, next_due
from bot.service import Tandem
from bot.timeparse import zone_from_name
from tests.fakes import ALICE, FakeMessenger, FixedClock, said

EVERY_DAY = "mon,tue,wed,thu,fri,sat,sun"


def local(instant: datetime, zone: str) -> str:
    return instant.astimezone(zone_from_name(zone)).isoformat(timespec="minutes")


@pytest.mark.parametrize(
    ("zone", "day_before", "fires"),
    [
        # Each of these zones springs forward at midnight: 00:00-01:00 does not exist that night.
        ("America/Havana", "2026-03-07T12:00:00+00:00", "2026-03-08T01:30-04:00"),
        ("America/Santiago", "2026-09-05T12:00:00+00:00", "2026-09-06T01:30-03:00"),
        ("Asia/Beirut", "2026-03-28T12:00:00+00:00", "2026-03-29T01:30+03:00"),
        ("Africa/Cairo", "2026-04-23T12:00:00+00:00", "2026-04-24T01:30+03:00"),
    ],
)
def test_a_time_in_a_gap_at_midnight_fires_that_day_just_after_the_gap(
    zone: str, day_before: str, fires: str
) -> None:
    after = datetime.fromisoformat(day_before)

    due = next_due("00:30", EVERY_DAY, zone, after)
    then = next_due("00:30", EVERY_DAY, zone, due)

    assert local(due, zone) == fires  # not the day after: no day is skipped
    assert (then - due) < timedelta(hours=25)  # and the next day's comes as usual
    assert local(then, zone)[11:] == "00:30" + fires[-6:]


@pytest.mark.parametrize(
    ("zone", "typed", "between"),
    [
        # After the first pass of a time that happens twice, and before the second.
        ("America/New_York", "01:30", "2026-11-01T05:45:00+00:00"),
        ("America/Havana", "00:30", "2026-11-01T04:45:00+00:00"),
        ("America/Santiago", "23:30", "2026-04-05T03:10:00+00:00"),
        ("Asia/Beirut", "23:30", "2026-10-24T20:45:00+00:00"),
        ("Africa/Cairo", "23:30", "2026-10-29T20:45:00+00:00"),
    ],
)
def test_on_a_fall_back_night_the_second_pass_is_never_announced(
    zone: str, typed: str, between: str
) -> None:
    now = datetime.fromisoformat(between)
    today = now.astimezone(zone_from_name(zone)).date()

    first = first_due(typed, EVERY_DAY, zone, now, None)
    following = next_due(typed, EVERY_DAY, zone, now)

    assert first is not None
    assert first == following
    assert first.astimezone(zone_from_name(zone)).date() == today + timedelta(days=1)


def test_first_due_includes_now_and_next_due_does_not() -> None:
    now = datetime.fromisoformat("2026-11-21T19:30:00+00:00")  # 20:30 in Berlin

    assert first_due("20:30", EVERY_DAY, "Europe/Berlin", now, None) == now
    assert next_due("20:30", EVERY_DAY, "Europe/Berlin", now) == now + timedelta(days=1)


def test_only_the_chosen_weekdays_come_due() -> None:
    friday = datetime.fromisoformat("2026-11-20T21:00:00+00:00")

    due = next_due("20:30", "mon,wed", "Europe/Berlin", friday)

    assert local(due, "Europe/Berlin") == "2026-11-23T20:30+01:00"  # Monday


async def test_schedule_on_fall_back_night_names_tomorrow_not_a_second_pass(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    clock.set("2026-10-31T12:00:00+00:00")
    for command in ("/start", "/timezone America/New_York", "/remind 1:30 am"):
        await lite.handle(said(ALICE, command))
    clock.set("2026-11-01T05:30:00+00:00")  # 01:30 EDT: the first pass
    await lite.dispatch_due()
    assert len(messenger.take()) == 1
    clock.set("2026-11-01T05:45:00+00:00")  # 01:45 EDT; 01:30 EST is still ahead

    [reply] = await lite.handle(said(ALICE, "/remind 1:30 am"))

    assert "tomorrow at 01:30" in reply.text
    assert "today at 01:30" not in reply.text
