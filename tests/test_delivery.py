"""Prompts and check-ins arrive once, at the chosen local time: DST, midnight, restarts, failures."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from bot.content import Library
from bot.messages import Address, SendResult, SendStatus
from bot.service import Tandem
from bot.store import Delivery, Schedule, Space
from tests.conftest import build
from tests.fakes import ALICE, HOME, FakeMessenger, FixedClock, said


async def setup(tandem: Tandem, *commands: str, to: Address = HOME) -> None:
    await tandem.handle(said(ALICE, "/start", to=to))  # only partners change settings
    for command in commands:
        replies = await tandem.handle(said(ALICE, command, to=to))
        assert all("✅" in r.text or " off" in r.text for r in replies), [r.text for r in replies]


async def deliveries(tandem: Tandem) -> list[Delivery]:
    """The daily deliveries (the weekly look back has tests of its own)."""
    async with tandem.store.unit() as session:
        found = await session.exec(
            select(Delivery).where(Delivery.kind != "weekly").order_by(Delivery.id)
        )
        return list(found.all())


async def space_of(tandem: Tandem, to: Address = HOME) -> Space | None:
    async with tandem.store.unit() as session:
        found = await session.exec(select(Space).where(Space.chat_id == to.chat_id))
        return found.first()


async def test_prompt_arrives_at_the_local_time_once(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await setup(tandem, "/checkin off", "/timezone Europe/Berlin", "/remind 20:30")
    clock.set("2026-11-21T19:29:00+00:00")  # 20:29 in Berlin
    await tandem.dispatch_due()
    assert messenger.take() == []
    clock.set("2026-11-21T19:30:04+00:00")
    await tandem.dispatch_due()
    [prompt] = messenger.take()
    assert prompt.to == HOME and prompt.text.startswith("🌱 Today's step")
    await tandem.dispatch_due()
    clock.advance(hours=3)
    await tandem.dispatch_due()
    assert messenger.take() == []
    clock.set("2026-11-22T19:30:00+00:00")
    await tandem.dispatch_due()
    assert len(messenger.take()) == 1


@pytest.mark.parametrize(
    ("zone", "typed", "before", "fires", "later"),
    [
        # Spring forward in Berlin: 02:30 does not exist on 29 March, it fires once at 03:30 CEST.
        (
            "Europe/Berlin",
            "2:30",
            "2026-03-29T00:59:00+00:00",
            "2026-03-29T01:30:00+00:00",
            "2026-03-29T23:00:00+00:00",
        ),
        # Fall back in Berlin: 02:30 happens twice on 25 October; only the first one fires.
        (
            "Europe/Berlin",
            "2:30",
            "2026-10-25T00:29:00+00:00",
            "2026-10-25T00:30:00+00:00",
            "2026-10-25T01:30:00+00:00",
        ),
        # New York springs forward on 8 March: 02:30 becomes 03:30 EDT.
        (
            "America/New_York",
            "2:30am",
            "2026-03-08T07:29:00+00:00",
            "2026-03-08T07:30:00+00:00",
            "2026-03-08T23:00:00+00:00",
        ),
        # New York falls back on 1 November: 01:30 happens twice; only the first (EDT) fires.
        (
            "America/New_York",
            "1:30 am",
            "2026-11-01T05:29:00+00:00",
            "2026-11-01T05:30:00+00:00",
            "2026-11-01T06:30:00+00:00",
        ),
        # Havana springs forward at midnight on 8 March: 00:30 becomes 01:30 CDT, the same day.
        (
            "America/Havana",
            "0:30",
            "2026-03-08T05:29:00+00:00",
            "2026-03-08T05:30:00+00:00",
            "2026-03-08T23:00:00+00:00",
        ),
        # Santiago springs forward at midnight on 6 September: 00:30 becomes 01:30.
        (
            "America/Santiago",
            "0:30",
            "2026-09-06T04:29:00+00:00",
            "2026-09-06T04:30:00+00:00",
            "2026-09-06T23:00:00+00:00",
        ),
        # Havana falls back at 01:00 on 1 November: 00:30 happens twice; only the first fires.
        (
            "America/Havana",
            "0:30",
            "2026-11-01T04:29:00+00:00",
            "2026-11-01T04:30:00+00:00",
            "2026-11-01T05:30:00+00:00",
        ),
        # A half-hour zone: 8 pm in Kolkata is 14:30 UTC.
        (
            "Asia/Kolkata",
            "8pm",
            "2026-06-01T14:29:00+00:00",
            "2026-06-01T14:30:00+00:00",
            "2026-06-01T20:00:00+00:00",
        ),
        # Midnight in Berlin belongs to the new day, 23:00 UTC the evening before.
        (
            "Europe/Berlin",
            "00:00",
            "2026-12-01T22:59:00+00:00",
            "2026-12-01T23:00:00+00:00",
            "2026-12-02T22:00:00+00:00",
        ),
    ],
)
async def test_dst_days_and_midnight_fire_exactly_once(
    lite: Tandem,
    clock: FixedClock,
    messenger: FakeMessenger,
    zone: str,
    typed: str,
    before: str,
    fires: str,
    later: str,
) -> None:
    clock.set(before)
    clock.advance(hours=-6)
    await setup(lite, "/checkin off", f"/timezone {zone}", f"/remind {typed}")
    clock.set(before)
    await lite.dispatch_due()
    assert messenger.take() == []
    clock.set(fires)
    await lite.dispatch_due()
    assert len(messenger.take()) == 1
    clock.set(later)
    await lite.dispatch_due()
    assert messenger.take() == []
    [sent] = [d for d in await deliveries(lite) if d.status == "sent"]
    assert sent.local_date == date.fromisoformat(fires[:10]) + timedelta(
        days=1 if typed == "00:00" else 0
    )


async def test_changing_zone_mid_day_moves_the_next_prompt_and_never_doubles(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    clock.set("2026-11-21T10:00:00+00:00")
    await setup(tandem, "/remind 20:00")  # UTC
    clock.set("2026-11-21T20:00:00+00:00")
    await tandem.dispatch_due()
    assert len(messenger.take()) == 1
    # Now in Los Angeles it is still the morning of the 21st; 20:00 there would be a second
    # prompt on the same local day, so the next one is on the 22nd.
    await setup(tandem, "/timezone America/Los_Angeles")
    clock.set("2026-11-22T04:00:00+00:00")  # 20:00 on the 21st in LA
    await tandem.dispatch_due()
    assert messenger.take() == []
    clock.set("2026-11-23T04:00:00+00:00")  # 20:00 on the 22nd in LA
    await tandem.dispatch_due()
    assert len(messenger.take()) == 1


async def test_zone_change_before_the_prompt_takes_effect_at_once(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    clock.set("2026-11-21T10:00:00+00:00")
    await setup(lite, "/remind 20:00", "/timezone Asia/Tokyo")  # 19:00 in Tokyo: 20:00 is soon
    clock.set("2026-11-21T11:00:00+00:00")
    await lite.dispatch_due()
    assert len(messenger.take()) == 1
    clock.set("2026-11-21T20:00:00+00:00")
    await lite.dispatch_due()
    assert messenger.take() == []


async def test_restart_after_a_due_time_sends_one_late_prompt_not_two(
    sqlite_url: str, clock: FixedClock, library: Library
) -> None:
    first = FakeMessenger()
    bot = await build(sqlite_url, clock, first, library)
    await setup(bot, "/checkin off", "/timezone Europe/Berlin", "/remind 20:30")
    await bot.store.close()  # the bot stops before 20:30

    clock.set("2026-11-21T20:15:00+00:00")  # 21:15 in Berlin: 45 minutes late, inside the grace
    second = FakeMessenger()
    bot = await build(sqlite_url, clock, second, library)
    assert await bot.recover() == 0
    await bot.dispatch_due()
    await bot.dispatch_due()
    assert len(second.take()) == 1
    await bot.store.close()

    third = FakeMessenger()
    bot = await build(sqlite_url, clock, third, library)
    await bot.dispatch_due()
    assert third.take() == []
    await bot.store.close()


async def test_prompts_older_than_the_grace_window_are_missed_not_burst(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await setup(tandem, "/remind 8am", "/checkin 9am")
    clock.set("2026-11-24T15:00:00+00:00")  # three days of downtime, 6 hours after today's 9am
    await tandem.dispatch_due()
    assert messenger.take() == []
    statuses = [d.status for d in await deliveries(tandem)]
    assert statuses == ["missed", "missed"]
    clock.set("2026-11-25T08:00:30+00:00")
    await tandem.dispatch_due()
    assert len(messenger.take()) == 1


async def test_newest_prompt_still_fresh_after_long_downtime_is_sent_once(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await setup(lite, "/remind 8am")
    clock.set("2026-11-24T09:00:00+00:00")  # down since the 21st; today's 8am is an hour old
    await lite.dispatch_due()
    assert len(messenger.take()) == 1
    assert [d.status for d in await deliveries(lite)] == ["missed", "sent"]


async def test_temporary_failure_is_retried_with_backoff_and_delivered_once(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await setup(tandem, "/remind 13:00")
    messenger.fail(HOME.chat_id, SendResult(SendStatus.RETRY, reason="NetworkError"))
    clock.set("2026-11-21T13:00:00+00:00")
    report = await tandem.dispatch_due()
    assert report.retrying == 1 and messenger.take() == []
    await tandem.dispatch_due()
    assert messenger.take() == []  # backing off, not hammering
    clock.advance(minutes=2)
    await tandem.dispatch_due()
    assert len(messenger.take()) == 1
    clock.advance(minutes=30)
    await tandem.dispatch_due()
    assert messenger.take() == []


async def test_a_rate_limit_waits_at_least_what_the_platform_asked(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await setup(lite, "/remind 13:00")
    messenger.fail(HOME.chat_id, SendResult(SendStatus.RETRY, retry_after=600, reason="RetryAfter"))
    clock.set("2026-11-21T13:00:00+00:00")
    await lite.dispatch_due()
    clock.advance(minutes=5)
    await lite.dispatch_due()
    assert messenger.take() == []
    clock.advance(minutes=6)
    await lite.dispatch_due()
    assert len(messenger.take()) == 1


async def test_chat_gone_deactivates_the_space_until_added_again(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await setup(tandem, "/remind 13:00")
    messenger.fail(HOME.chat_id, SendResult(SendStatus.GONE, reason="Forbidden"))
    clock.set("2026-11-21T13:00:00+00:00")
    report = await tandem.dispatch_due()
    assert report.deactivated == 1
    space = await space_of(tandem)
    assert space is not None and not space.active
    clock.set("2026-11-23T13:00:00+00:00")
    await tandem.dispatch_due()
    assert messenger.attempts[1:] == []  # no retry storm against a chat that is gone
    clock.set("2026-11-23T14:00:00+00:00")
    await tandem.handle(said(ALICE, "/start"))  # added back: settings return, nothing stale
    await tandem.dispatch_due()
    assert [m.text for m in messenger.take() if "Today's step" in m.text] == []
    clock.set("2026-11-24T13:00:00+00:00")
    await tandem.dispatch_due()
    assert len(messenger.take()) == 1


async def test_moved_chat_keeps_its_schedule_and_gets_the_message_once(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await setup(tandem, "/timezone Europe/Berlin", "/remind 14:00")
    new = Address(HOME.platform, "chat-1-super")
    messenger.fail(
        HOME.chat_id, SendResult(SendStatus.MOVED, new_address=new, reason="ChatMigrated")
    )
    clock.set("2026-11-21T13:00:00+00:00")
    report = await tandem.dispatch_due()
    assert report.moved == 1
    [prompt] = messenger.take()
    assert prompt.to == new
    replies = await tandem.handle(said(ALICE, "/schedule", to=new))
    assert "14:00" in replies[0].text and "Europe/Berlin" in replies[0].text


@pytest.mark.logs_errors(
    "a send that raises is logged and retried: that error is the behaviour under test"
)
async def test_one_chats_failure_never_holds_up_the_others(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    other = Address(HOME.platform, "chat-2")
    await setup(lite, "/remind 13:00")
    await setup(lite, "/remind 13:00", to=other)

    async def broken(msg):  # type: ignore[no-untyped-def]
        if msg.to == HOME:
            raise RuntimeError("adapter bug")
        return await FakeMessenger.send(messenger, msg)

    messenger.send = broken  # type: ignore[method-assign]
    clock.set("2026-11-21T13:00:00+00:00")
    report = await lite.dispatch_due()
    assert [m.to for m in messenger.take()] == [other]
    assert report.retrying == 1


async def test_pause_for_days_then_resume_by_itself(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await setup(tandem, "/remind 13:00")
    reply = (await tandem.handle(said(ALICE, "/pause 2 days")))[0].text
    assert "until Mon 23 Nov" in reply
    for day in ("21", "22"):
        clock.set(f"2026-11-{day}T13:00:00+00:00")
        await tandem.dispatch_due()
        assert messenger.take() == []
    clock.set("2026-11-23T13:00:00+00:00")
    await tandem.dispatch_due()
    assert len(messenger.take()) == 1


async def test_pause_until_resume(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await setup(lite, "/remind 13:00")
    await lite.handle(said(ALICE, "/pause"))
    clock.set("2026-11-25T13:00:00+00:00")
    await lite.dispatch_due()
    assert messenger.take() == []
    clock.advance(hours=1)
    reply = (await lite.handle(said(ALICE, "/resume")))[0].text
    assert "next tomorrow at 13:00" in reply
    clock.set("2026-11-26T13:00:00+00:00")
    await lite.dispatch_due()
    assert len(messenger.take()) == 1


async def test_after_a_crash_what_was_claimed_is_sent_and_what_was_in_flight_never_twice(
    sqlite_url: str, clock: FixedClock, library: Library
) -> None:
    from bot.delivery import DispatchReport

    messenger = FakeMessenger()
    bot = await build(sqlite_url, clock, messenger, library)
    other = Address(HOME.platform, "chat-2")
    await setup(bot, "/remind 13:00")
    await setup(bot, "/remind 13:00", to=other)
    clock.set("2026-11-21T13:00:00+00:00")
    # Claim both, hand the first to the platform, then "crash" before any outcome is recorded.
    jobs = await bot.dispatcher._claim_schedules(clock.now(), DispatchReport())
    assert jobs is not None and len(jobs) == 2
    await bot.dispatcher._write([jobs[0].delivery_id], [])
    await bot.store.close()
    bot = await build(sqlite_url, clock, messenger, library)
    assert await bot.recover() == 1  # the one in flight may have arrived: not resent
    await bot.dispatch_due()
    assert [m.to for m in messenger.take()] == [jobs[1].address]  # the other was never sent
    assert sorted(d.status for d in await deliveries(bot)) == ["interrupted", "sent"]
    await bot.dispatch_due()
    assert messenger.take() == []
    await bot.store.close()


async def test_scheduled_checkin_has_five_scores_a_skip_and_a_private_way(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await setup(lite, "/checkin 21:30 weekends")
    clock.set("2026-11-21T21:30:00+00:00")  # a Saturday
    await lite.dispatch_due()
    [checkin] = messenger.take()
    assert [b.label for b in checkin.buttons] == [
        "1",
        "2",
        "3",
        "4",
        "5",
        "Skip today",
        # Today's question (issue 21), for partners with no private chat.
        "✍️ Answer",
        "Pass on this one",
        "Another question",
        "🔒 Answer privately",
    ]
    assert "reply to this message" in checkin.text
    clock.set("2026-11-23T21:30:00+00:00")  # Monday: not a weekend
    await lite.dispatch_due()
    assert messenger.take() == []


async def test_prompts_do_not_repeat_until_the_pool_is_used_up(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger, library: Library
) -> None:
    await setup(lite, "/remind 13:00", "/topics patience, forgiveness")
    week = [library.by_id[p].text for p in library.first_week]
    pool = {
        p.text
        for t in ("patience", "forgiveness")
        for p in library.by_topic[t]
        if p.audience == "both"  # the sides' prompts go only to a partner who chose one
        and p.fits(13, apart=False)  # sent at 13:00: no morning or evening prompts
    }
    texts = []
    clock.set("2026-11-20T13:00:00+00:00")
    for _ in range(len(week) + len(pool - set(week))):
        clock.advance(days=1)
        await lite.dispatch_due()
        [msg] = messenger.take()
        texts.append(msg.text.split("\n\n", 1)[1])
    assert texts[: len(week)] == week  # a new space walks the first week, in order
    assert set(texts[len(week) :]) == pool - set(week)  # then the whole pool, no repeats
    clock.advance(days=1)
    await lite.dispatch_due()
    assert messenger.take()[0].text.split("\n\n", 1)[1] in pool


async def test_schedule_changes_reach_the_next_due_instant(lite: Tandem, clock: FixedClock) -> None:
    await setup(lite, "/remind 20:00")
    await setup(lite, "/remind 7am")
    async with lite.store.unit() as session:
        [schedule] = (await session.exec(select(Schedule).where(Schedule.kind == "prompt"))).all()
    assert schedule.next_due_at is not None
    assert schedule.next_due_at.isoformat() == "2026-11-22T07:00:00+00:00"


async def test_a_retry_past_the_grace_window_is_given_up_not_sent_stale(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await setup(lite, "/remind 13:00")
    messenger.fail(
        HOME.chat_id, SendResult(SendStatus.RETRY, retry_after=4 * 3600, reason="RetryAfter")
    )
    clock.set("2026-11-21T13:00:00+00:00")
    await lite.dispatch_due()
    clock.set("2026-11-21T17:01:00+00:00")  # the platform let us retry only after 4 hours
    await lite.dispatch_due()
    assert messenger.take() == []
    assert [d.status for d in await deliveries(lite)] == ["missed"]


async def test_a_batch_of_only_stale_retries_does_not_hide_fresh_ones_behind_it(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.delivery.dispatcher

    monkeypatch.setattr(bot.delivery.dispatcher, "BATCH", 1)
    stale_chat, fresh_chat = Address(HOME.platform, "stale"), Address(HOME.platform, "fresh")
    clock.set("2026-11-21T08:00:00+00:00")
    await setup(lite, "/remind 09:00", to=stale_chat)
    await setup(lite, "/remind 13:00", to=fresh_chat)
    messenger.fail(
        "stale", SendResult(SendStatus.RETRY, retry_after=4 * 3600 + 60, reason="RetryAfter")
    )
    messenger.fail("fresh", SendResult(SendStatus.RETRY, retry_after=600, reason="RetryAfter"))
    clock.set("2026-11-21T09:00:00+00:00")
    await lite.dispatch_due()
    clock.set("2026-11-21T13:00:00+00:00")
    await lite.dispatch_due()
    # At 14:01 both retries are due; the 9:00 one comes first (13:01) and is stale by now.
    clock.set("2026-11-21T14:01:00+00:00")
    await lite.dispatch_due()
    assert [m.to for m in messenger.take()] == [fresh_chat]
    assert sorted(d.status for d in await deliveries(lite)) == ["missed", "sent"]


async def test_prompts_fit_the_hour_they_arrive_and_a_couple_living_apart(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger, library: Library
) -> None:
    await setup(lite, "/timezone Berlin", "/remind 20:00", "/together apart")
    [shown] = await lite.handle(said(ALICE, "/together"))
    assert "apart" in shown.text
    [bad] = await lite.handle(said(ALICE, "/together sometimes"))
    assert "/together apart" in bad.text
    by_text = {p.text: p for p in library.prompts}
    clock.set("2026-11-21T19:00:00+00:00")  # 20:00 in Berlin
    sent = []
    for _ in range(90):
        await lite.dispatch_due()
        # The step, above the check-in it comes with (both are due in the one shared chat).
        steps = [m.text.split("\n\n", 1)[1].split("\n\n💬", 1)[0] for m in messenger.take()]
        sent += [by_text[text] for text in steps]
        clock.advance(days=1)
    assert len(sent) == 90
    assert [p.id for p in sent[:7]] == list(library.first_week)
    assert not [p.id for p in sent if p.when == "morning" or p.home == "together"]
    assert any(p.home == "apart" for p in sent)  # written for them, and they get it


async def test_a_retry_of_a_split_message_starts_after_the_parts_that_arrived(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    """The adapter says how many parts of a long message went out before a failure; the retry
    (after a restart even: it is stored) asks it to send only the rest, so nothing repeats."""
    await setup(tandem, "/remind 13:00")
    messenger.fail(
        HOME.chat_id,
        SendResult(SendStatus.RETRY, reason="NetworkError", parts_sent=2),
        SendResult(SendStatus.RETRY, reason="timeout"),  # nothing more arrived this time
    )
    clock.set("2026-11-21T13:00:00+00:00")
    await tandem.dispatch_due()
    clock.advance(minutes=2)
    await tandem.dispatch_due()
    clock.advance(minutes=10)
    await tandem.dispatch_due()
    assert [m.resume_at_part for m in messenger.attempts] == [0, 2, 2]
    assert len(messenger.take()) == 1


async def test_scheduled_deliveries_may_wait_and_an_asked_for_checkin_may_not(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    """The platform may hold a scheduled prompt behind replies people wait for (bulk), but not
    the check-in someone just asked for with /checkin, nor a reply."""
    await setup(tandem, "/remind 13:00")
    clock.set("2026-11-21T13:00:00+00:00")
    await tandem.dispatch_due()
    [prompt] = messenger.take()
    assert prompt.bulk
    replies = await tandem.handle(said(ALICE, "/checkin"))
    asked = messenger.take()
    assert asked and not any(m.bulk for m in asked + replies)
