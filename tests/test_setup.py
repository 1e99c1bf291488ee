"""The set-up after the first /start, on the console: the city typed, a time tapped, and both
daily times scheduled in that zone; "Other" with a bad then a good time; skipping it; the
default rhythm a timezone brings; and /settings changing things in place."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.console import ConsoleAdapter
from bot import actions
from bot.app import App
from bot.service import Tandem
from bot.settings import Settings
from tests.conftest import dialog
from tests.fakes import ALICE, BOB, FixedClock, said
from tests.test_two_voices import dm

Console = tuple[ConsoleAdapter, io.StringIO]


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    out = io.StringIO()
    adapter = ConsoleAdapter(out=out, export_dir=tmp_path)
    clock = FixedClock("2026-11-21T12:00:00+00:00")
    app = App(Settings(database_url=f"sqlite:///{tmp_path}/app.db"), [adapter], clock=clock)
    await app.start()
    try:
        yield adapter, out
    finally:
        await app.stop()


async def shown(console: Console, *lines: str) -> str:
    """What the console prints after typing `lines`, one after the other."""
    adapter, out = console
    mark = len(out.getvalue())
    for line in lines:
        await adapter.feed(line)
    return out.getvalue()[mark:]


async def test_the_tap_set_up_ends_with_both_times_scheduled_in_the_chosen_zone(
    console: Console,
) -> None:
    first = await shown(console, "/start")
    assert "not therapy" in first  # the welcome, then the set-up's one typed question
    assert "which city are you in?" in first and "[1] Skip set-up" in first

    zone = await shown(console, "Berlin")
    assert "Timezone set to Europe/Berlin" in zone  # it says which zone it chose
    assert "[1] Morning 8:00   [2] Lunch 12:30   [3] Evening 20:00   [4] Other" in zone

    done = await shown(console, "1")
    assert "All set: the daily prompt at 08:00 and the check-in at 08:30, every day" in done
    assert "(Europe/Berlin time)" in done
    assert "Last step: which path should your daily steps follow?" in done
    assert "[1] Rebuilding after a breach" in done and "Free practice" in done

    path = await shown(console, "1")
    assert "You've chosen a path: Rebuilding after a breach" in path

    schedule = await shown(console, "/schedule")
    assert "Your rhythm (Europe/Berlin time)" in schedule
    assert "Daily prompt: 08:00 every day, next tomorrow at 08:00" in schedule
    assert "Daily check-in: 08:30 every day, next tomorrow at 08:30" in schedule

    later = await shown(console, "Munich")  # the question was answered: words are words again
    assert "Timezone set" not in later


async def test_after_the_set_up_remind_brings_the_check_in_along(console: Console) -> None:
    await shown(console, "/start", "Berlin", "3")  # Evening 20:00: the check-in at 20:30
    moved = await shown(console, "/remind 8am")
    assert "The check-in follows: Daily check-in: 08:30" in moved
    schedule = await shown(console, "/schedule")
    assert "Daily prompt: 08:00 every day" in schedule
    assert "Daily check-in: 08:30 every day" in schedule
    # Once someone sets the check-in's own time, it stays where they put it.
    await shown(console, "/checkin 21:00")
    await shown(console, "/remind 9am")
    assert "Daily check-in: 21:00 every day" in await shown(console, "/schedule")


async def test_other_time_a_bad_one_then_a_good_one(console: Console) -> None:
    await shown(console, "/start", "Paris, France")
    asked = await shown(console, "4")  # Other
    assert "Type it, for example 7:15" in asked

    bad = await shown(console, "25:99")
    assert "Try a time like 20:30, 8pm or 8:30 pm." in bad
    assert "All set" not in bad

    good = await shown(console, "7:15")
    assert "All set: the daily prompt at 07:15 and the check-in at 07:45" in good
    schedule = await shown(console, "/schedule")
    assert "Daily prompt: 07:15 every day" in schedule
    assert "Daily check-in: 07:45 every day" in schedule
    assert "Europe/Paris" in schedule


async def test_a_bad_city_changes_nothing_and_the_question_stays(console: Console) -> None:
    await shown(console, "/start")
    bad = await shown(console, "Xqzzyville")
    assert "Europe/Berlin" in bad  # an example of the right form
    assert "✅" not in bad
    assert "Timezone set to Asia/Tokyo" in await shown(console, "Tokyo")  # still asked


async def test_group_chatter_during_the_set_up_is_told_off_once_not_every_time(
    lite: Tandem,
) -> None:
    [asked] = [r for r in await lite.handle(said(ALICE, "/start")) if "which city" in r.text]
    assert "Reply to this message with it" in asked.text  # in a shared chat

    # Alice talks to Bob in their chat: the first words that aren't a city say how to answer.
    [told] = await lite.handle(said(ALICE, "brb, making tea"))
    assert "Try a city" in told.text and "Reply to my question with your city" in told.text
    assert told.private
    for chatter in ("back", "what do you think?", "ok 👍"):
        assert await lite.handle(said(ALICE, chatter)) == []  # the rest is theirs alone

    # Said to Tandem (a reply to its question), a bad city still gets its error every time.
    replying = said(ALICE, "Xqzzyville", reply_to="m1", addressed=True)
    for _ in range(2):
        [error] = await lite.handle(replying)
        assert "Europe/Berlin" in error.text and "Reply to my question" not in error.text
    assert "Timezone: UTC" in (await lite.handle(said(ALICE, "/timezone")))[0].text  # unchanged


async def test_a_city_typed_plainly_in_the_group_still_answers_after_chatter(
    lite: Tandem,
) -> None:
    await lite.handle(said(ALICE, "/start"))
    await lite.handle(said(ALICE, "brb"))  # told once
    assert await lite.handle(said(ALICE, "hmm")) == []
    [zone] = await lite.handle(said(ALICE, "Tokyo"))
    assert "Timezone set to Asia/Tokyo" in zone.text and "When should your daily step" in zone.text
    # A new question (Other time) tells off its first stray words again.
    [asked] = await lite.handle(said(ALICE, action=actions.setup("other")))
    assert "Which time?" in asked.text
    [told] = await lite.handle(said(ALICE, "lol"))
    assert "Reply to my question with the time" in told.text


async def test_group_chatter_that_names_several_places_is_offered_them_once(lite: Tandem) -> None:
    await lite.handle(said(ALICE, "/start"))
    [offer] = await lite.handle(said(ALICE, "york"))  # a place, or a word of their own talk
    assert offer.buttons  # the places it could be, to tap
    assert await lite.handle(said(ALICE, "york")) == []  # said again to Bob: not offered again
    assert await lite.handle(said(ALICE, "no idea")) == []
    # A reply to the question still gets the places every time.
    [again] = await lite.handle(said(ALICE, "york", reply_to="m1"))
    assert again.buttons


async def test_in_a_private_chat_every_bad_answer_gets_its_error(lite: Tandem) -> None:
    me = dm(ALICE)
    await lite.handle(said(ALICE, "/start", to=me, direct=True))
    for _ in range(2):
        [error] = await lite.handle(said(ALICE, "Xqzzyville", to=me, direct=True))
        assert "Europe/Berlin" in error.text and "Reply to my question" not in error.text


async def test_a_typed_command_ends_the_question(console: Console) -> None:
    await shown(console, "/start")
    assert "Timezone: UTC" in await shown(console, "/timezone")
    assert "Timezone set" not in await shown(console, "Tokyo")


async def test_skipping_the_set_up(console: Console) -> None:
    await shown(console, "/start")
    skipped = await shown(console, "1")  # Skip set-up
    assert "Set-up skipped" in skipped and "/settings" in skipped

    words = await shown(console, "Berlin")
    assert "Timezone set" not in words  # no longer waiting for a city
    assert "Timezone: UTC" in await shown(console, "/timezone")

    # Typed commands work as ever, and a timezone brings the default rhythm with it.
    zone = await shown(console, "/timezone Berlin")
    assert "I've set your daily prompt and check-in to begin" in zone
    schedule = await shown(console, "/schedule")
    assert "Daily prompt: 20:00 every day" in schedule
    assert "Daily check-in: 20:30 every day" in schedule
    assert "off" not in schedule


async def test_the_second_partner_gets_no_set_up(lite: Tandem) -> None:
    [first] = await lite.handle(said(ALICE, "/start"))
    assert "which city are you in?" in first.text
    [both] = await lite.handle(said(BOB, "/start"))
    assert "which city" not in both.text and not both.buttons
    # Bob's words are not taken for a city (only Alice was asked).
    replies = await lite.handle(said(BOB, "Berlin"))
    assert not any("Timezone set" in r.text for r in replies)


async def test_a_timezone_brings_the_default_rhythm_unless_a_time_was_chosen(lite: Tandem) -> None:
    await dialog(
        lite,
        [
            ("/start", "not therapy"),
            ("/remind off", "already off"),
            ("/timezone Berlin", "I've set your daily check-in to begin"),
            ("/schedule", "Daily prompt: off"),  # turned off before: stays off
            ("/schedule", "Daily check-in: 20:30 every day"),
            ("/remind 21:00", "The check-in follows: Daily check-in: 21:30 every day"),
            ("/timezone London", "Timezone set to Europe/London"),  # no second default
            ("/checkin off", "turned off"),
            ("/timezone Paris", "Timezone set to Europe/Paris"),
            ("/schedule", "Daily check-in: off"),  # turned off stays off
        ],
    )


async def test_settings_says_each_time_s_own_days(lite: Tandem) -> None:
    await lite.handle(said(ALICE, "/start"))
    await lite.handle(said(ALICE, "/remind 20:00"))
    await lite.handle(said(ALICE, "/checkin 20:30"))
    [same] = await lite.handle(said(ALICE, "/settings"))
    assert "🕗 Daily prompt 20:00, check-in 20:30, every day" in same.text
    await lite.handle(said(ALICE, "/checkin 21:00 weekends"))
    [apart] = await lite.handle(said(ALICE, "/settings"))
    assert "🕗 Daily prompt 20:00 every day; check-in 21:00 on weekends" in apart.text
    await lite.handle(said(ALICE, "/remind off"))
    [alone] = await lite.handle(said(ALICE, "/settings"))
    assert "🕗 Daily check-in 21:00 on weekends; no daily prompt" in alone.text


async def test_settings_on_the_console_edits_itself(console: Console) -> None:
    await shown(console, "/start", "1")  # skip the set-up
    menu = await shown(console, "/settings")
    assert "⚙️ Your settings" in menu and "[1] 🕗 Time and days" in menu
    number = menu.split("Tandem [#")[1].split(",")[0]

    page = await shown(console, "1")
    assert f"Tandem [#{number} edited, shared chat]: 🕗 Daily prompt: off" in page
    morning = await shown(console, "1")
    assert f"#{number} edited" in morning
    assert "Set: the daily prompt at 08:00 and the check-in at 08:30" in morning
    weekdays = await shown(console, "5")  # Weekdays
    assert "Days: weekdays" in weekdays

    schedule = await shown(console, "/schedule")
    assert "Daily prompt: 08:00 on weekdays" in schedule
    assert "Daily check-in: 08:30 on weekdays" in schedule

    await shown(console, f"/tap {number} 7")  # « All settings
    reveal = await shown(console, f"/tap {number} 3")
    assert "Reveal: together" in reveal
    instant = await shown(console, f"/tap {number} 3")  # Instant
    assert "set the reveal to instant" in instant
    assert "[3] ✓ Instant" in instant  # the page shows the new choice, in place
