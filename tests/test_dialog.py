"""Conversations as a couple has them: every command, its confirmation, and bad input that changes nothing."""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import select

from bot.service import Tandem
from tests.conftest import dialog, export_of, one
from tests.fakes import ALICE, BOB, FakeMessenger, FixedClock, said


async def snapshot(tandem: Tandem) -> dict[str, object]:
    """Everything stored about the chat, as /export gives it (minus the export time)."""
    export = (await export_of(tandem, said(ALICE, "/export", whisper=True))).attachment
    assert export is not None
    data = json.loads(export.data)
    data.pop("exported_at")
    return data


async def test_first_day(tandem: Tandem) -> None:
    await dialog(
        tandem,
        [
            ("/start", "not therapy"),
            ("/timezone Berlin", "Timezone set to Europe/Berlin; it's 13:00 there now."),
            (
                "/remind 8:30 pm weekdays",
                "Daily prompt set for 20:30 on weekdays (Europe/Berlin time)",
            ),
            ("/checkin 9pm", "Daily check-in set for 21:00 every day"),
            ("/schedule", "Daily prompt: 20:30 on weekdays, next Mon 23 Nov at 20:30."),
            ("/schedule", "Daily check-in: 21:00 every day, next today at 21:00."),
            ("/timezone", "Timezone: Europe/Berlin (it's 13:00 there now)"),
            ("/topics gratitude, active listening", "Your topics: Active listening, Gratitude."),
            ("/topics add patience", "Your topics: Active listening, Gratitude, Patience."),
            ("/topics drop gratitude", "Your topics: Active listening, Patience."),
            ("/topics", "✓ patience: Patience"),
            ("/tip", "🌱 Today's step · Active listening"),
            ("/tip", "🌱 Today's step · Patience"),
            ("/pause 3 days", "Paused for 3 days, until Tue 24 Nov"),
            ("/schedule", "Paused until Tue 24 Nov at 00:00"),
            ("/resume", "Resumed: prompts and check-ins are back on"),
            ("/progress", "Days you both showed up: 0"),
            ("/privacy", "Never your private notes"),
            ("/support", "I'll answer that in your private chat with me"),
            ("/help", "/remind <time> [days]"),
            ("/remind off", "Daily prompt turned off."),
            ("/checkin off", "Daily check-in turned off."),
            ("/Remind@TandemBot 7am", "Daily prompt set for 07:00"),
        ],
    )


@pytest.mark.parametrize(
    ("typed", "example"),
    [
        ("/remind 25:99", "Try a time like 20:30, 8pm or 8:30 pm."),
        ("/remind", "/remind 20:30, /remind 8pm weekdays"),
        ("/remind 8pm someday", "mon,wed,fri"),
        ("/checkin 13pm", "8:30 pm"),
        ("/timezone Mars/Olympus", "Europe/Berlin"),
        ("/timezone UTC+15", "UTC+5:30"),
        ("/topics astrology", "/topics gratitude, patience"),
        (
            "/topics drop active_listening, patience, gratitude, transparency, boundaries, consistency, "
            "empathy, forgiveness, vulnerability, self_growth, small_wins, professional_help, "
            "open_communication, shared_activities",
            "at least one topic",
        ),
        ("/topics add", "/topics add gratitude"),
        ("/pause forever", "/pause 3 days"),
        ("/remind " + "9" * 400, "more than I can read"),
        ("/timezone " + "x" * 100, "longer than I can read"),
        ("/dance", "/help"),
    ],
)
async def test_bad_input_gets_an_example_and_changes_nothing(
    tandem: Tandem, typed: str, example: str
) -> None:
    await dialog(
        tandem,
        [
            ("/start", "not therapy"),
            ("/timezone Berlin", "✅"),
            ("/remind 8pm", "✅"),
            ("/topics gratitude", "✅"),
        ],
    )
    before = await snapshot(tandem)
    [reply] = await tandem.handle(said(ALICE, typed))
    assert example in reply.text
    assert "Traceback" not in reply.text
    assert await snapshot(tandem) == before


async def test_pause_and_resume_with_nothing_scheduled(lite: Tandem) -> None:
    await dialog(
        lite,
        [
            ("/start", "not therapy"),
            ("/weekly off", "turned off"),  # a new space has only its weekly look back
            ("/pause", "Nothing to pause"),
            ("/resume", "Nothing to resume"),
        ],
    )


@pytest.mark.logs_errors(
    "the handler is made to raise: the apology and the log line are the behaviour"
)
async def test_unexpected_failure_gets_an_apology_and_logs_no_content(
    lite: Tandem, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.registry

    secret = "secret " + "note text"

    async def broken(ctx, args):  # type: ignore[no-untyped-def]
        raise RuntimeError(secret)

    monkeypatch.setitem(
        bot.registry.COMMANDS, "tip", replace(bot.registry.COMMANDS["tip"], handler=broken)
    )
    with caplog.at_level(logging.DEBUG, logger="bot"):
        [reply] = await lite.handle(said(ALICE, "/tip"))
    assert reply.text.startswith("Sorry, something went wrong on my side. Nothing was changed")
    assert "secret note text" not in caplog.text
    assert "RuntimeError" in caplog.text


async def test_bot_added_and_removed(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    from bot.messages import Event, Incoming
    from tests.fakes import HOME

    [welcome] = await lite.handle(Incoming(HOME, event=Event.ADDED))
    assert "not therapy" in welcome.text and "/remind 8pm" in welcome.text
    await dialog(lite, [("/start", "not therapy"), ("/remind 13:00", "✅")])
    assert await lite.handle(Incoming(HOME, event=Event.REMOVED)) == []
    clock.set("2026-11-21T13:00:00+00:00")
    await lite.dispatch_due()
    assert messenger.take() == []
    await lite.handle(Incoming(HOME, event=Event.ADDED))
    clock.set("2026-11-22T13:00:00+00:00")
    await lite.dispatch_due()
    assert len(messenger.take()) == 1


async def test_forget_erases_everything_for_real(
    sqlite_url: str, clock: FixedClock, messenger: FakeMessenger, library: object
) -> None:
    from tests.conftest import build

    bot = await build(sqlite_url, clock, messenger, library)  # type: ignore[arg-type]
    await dialog(
        bot, [("/start", "not therapy"), ("/remind 8pm", "✅"), ("/timezone Berlin", "✅")]
    )
    await bot.handle(said(BOB, "/start"))
    await bot.handle(said(ALICE, "/checkin"))
    [checkin] = messenger.take()
    # Alice's own: what one partner erases is the space and their own (Bob's would stay his).
    await bot.handle(said(ALICE, action=checkin.buttons[2].action))
    await bot.handle(
        said(ALICE, "a very private sentence", reply_to=messenger.message_id_of(checkin))
    )
    database = Path(sqlite_url.removeprefix("sqlite:///"))

    def raw() -> bytes:
        return b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))

    # The note is sealed at rest, so its words are never in the file: look for the sealed value
    # itself, and see it there first (the positive control), then gone after /forget.
    with contextlib.closing(sqlite3.connect(database)) as conn:
        [(sealed,)] = conn.execute("SELECT note FROM checkinanswer WHERE note IS NOT NULL")
    assert sealed and sealed.encode() in raw()
    [confirm] = await bot.handle(said(ALICE, "/forget"))
    assert [b.label for b in confirm.buttons] == ["Yes, erase everything", "Cancel"]
    [kept] = await bot.handle(said(ALICE, action=confirm.buttons[1].action))
    assert "Nothing was erased" in kept.text
    assert sealed.encode() in raw()  # Cancel erased nothing
    [done] = await bot.handle(said(ALICE, action=confirm.buttons[0].action))
    assert "erased" in done.text and not done.private
    from bot.store import CheckinAnswer, Delivery, Member, Schedule, Space

    async with bot.store.unit() as session:
        for model in (Space, Member, Schedule, Delivery, CheckinAnswer):
            assert (await session.exec(select(model))).all() == [], model
    await bot.store.close()
    assert sealed.encode() not in raw()
    assert b"a very private sentence" not in raw()


def test_logging_set_up_by_the_bot_never_shows_sql_parameters_or_urls() -> None:
    from bot.logs import setup_logging

    setup_logging("DEBUG")
    for name in ("aiosqlite", "httpx", "httpcore", "sqlalchemy.engine"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name


async def test_partners_are_those_who_started_and_only_they_change_settings(
    lite: Tandem, messenger: FakeMessenger, clock: FixedClock
) -> None:
    carol = ("u3", "Carol")
    await dialog(lite, [("/help", "Tandem"), ("/start", "not therapy"), ("/remind 8pm", "✅")])
    before = await snapshot(lite)
    for typed in (
        "/remind 9pm",
        "/timezone Berlin",
        "/topics gratitude",
        "/pause",
        "/reveal never",
    ):
        [refused] = await lite.handle(said(BOB, typed))
        assert "Only this space's two partners" in refused.text, typed
    assert "Timezone: UTC" in (await one(lite, said(BOB, "/timezone"))).text  # looking is fine
    [refused] = await lite.handle(said(BOB, "/checkin"))  # it would reach the partners' chats
    assert "Only this space's two partners" in refused.text and messenger.take() == []
    await lite.handle(said(ALICE, "/checkin"))
    [checkin] = messenger.take()
    [refused] = await lite.handle(said(BOB, action=checkin.buttons[3].action))
    assert "not one of this space's partners" in refused.text  # answering makes no partner
    [refused] = await lite.handle(said(BOB, "/forget"))
    assert "Only this space's two partners" in refused.text
    after = await snapshot(lite)
    assert before["space"] == after["space"] and before["schedules"] == after["schedules"]
    assert [m["name"] for m in after["members"]] == ["Alice"]  # Bob was never written down
    # The erase button works only for the partner who asked, and only for 10 minutes.
    await lite.handle(said(BOB, "/start"))
    [confirm] = await lite.handle(said(ALICE, "/forget"))
    [refused] = await lite.handle(said(BOB, action=confirm.buttons[0].action))
    assert "Only the person who asked" in refused.text
    [refused] = await lite.handle(said(carol, action=confirm.buttons[0].action))
    assert "Only the person who asked" in refused.text
    clock.advance(minutes=11)
    [refused] = await lite.handle(said(ALICE, action=confirm.buttons[0].action))
    assert "expired" in refused.text
    assert (await snapshot(lite))["schedules"] == after["schedules"]


async def test_a_chat_that_is_already_set_up_is_not_greeted_twice(lite: Tandem) -> None:
    from bot.messages import Event, Incoming
    from tests.fakes import HOME

    await dialog(lite, [("/start", "not therapy")])
    assert await lite.handle(Incoming(HOME, event=Event.ADDED)) == []
