"""A couple's check-in: taps from both, a changed mind, notes by reply, streaks and milestones."""

from __future__ import annotations

from bot.messages import Outgoing
from bot.service import Tandem
from tests.conftest import one
from tests.fakes import ALICE, BOB, FakeMessenger, FixedClock, said


async def ask(tandem: Tandem, messenger: FakeMessenger) -> Outgoing:
    assert await tandem.handle(said(ALICE, "/checkin")) == []  # the check-in is sent to the chat
    [checkin] = messenger.take()
    return checkin


def tap(checkin: Outgoing, score: int) -> str:
    return checkin.buttons[score - 1].action


async def test_both_partners_answer_and_the_bot_says_so(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    [ack] = await lite.handle(said(ALICE, action=tap(checkin, 4)))
    assert (
        ack.private and ack.text == "Thanks, Alice. Your check-in for Sat 21 Nov is saved as 4/5."
    )
    ack, both = await lite.handle(said(BOB, action=tap(checkin, 5)))
    assert ack.private and "Bob" in ack.text
    assert not both.private and "both checked in" in both.text and "Streak: 1 day" in both.text
    progress = (await one(lite, said(ALICE, "/progress"))).text
    assert "Sat 21 Nov: Alice 4, Bob 5" in progress


async def test_a_second_tap_changes_the_answer_without_a_second_celebration(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    await lite.handle(said(ALICE, action=tap(checkin, 2)))
    await lite.handle(said(BOB, action=tap(checkin, 3)))
    replies = await lite.handle(said(ALICE, action=tap(checkin, 5)))
    assert [r.text for r in replies] == [
        "Thanks, Alice. Your check-in for Sat 21 Nov is changed to 5/5."
    ]
    assert "Alice 5, Bob 3" in (await one(lite, said(BOB, "/progress"))).text


async def test_a_note_by_replying_to_the_checkin_is_kept(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    reply_to = messenger.message_id_of(checkin)
    [saved] = await lite.handle(said(ALICE, "Felt close at dinner", reply_to=reply_to))
    assert "Note saved" in saved.text and "Tap a number" in saved.text
    await lite.handle(said(ALICE, action=tap(checkin, 4)))
    export = (await one(lite, said(ALICE, "/export"))).attachment
    assert export is not None and "Felt close at dinner" in export.data.decode()
    assert "Alice 4 📝" in (await one(lite, said(ALICE, "/progress"))).text


async def test_a_note_through_a_note_action_and_a_too_long_note(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    delivery_id = checkin.buttons[0].action.split(":")[1]
    [saved] = await lite.handle(said(BOB, "ok day", action=f"n:{delivery_id}"))
    assert "Note saved" in saved.text
    [refused] = await lite.handle(said(BOB, "x" * 1200, action=f"n:{delivery_id}"))
    assert "up to 1000 characters" in refused.text
    export = (await one(lite, said(ALICE, "/export"))).attachment
    assert export is not None and "x" * 1001 not in export.data.decode()


async def test_chatter_that_is_not_a_reply_is_ignored(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    await ask(lite, messenger)
    assert await lite.handle(said(ALICE, "good morning!")) == []
    assert await lite.handle(said(ALICE, "hello", reply_to="unknown-message")) == []


async def test_streaks_and_milestones(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    celebrations = []
    for day in range(7):
        checkin = await ask(lite, messenger)
        await lite.handle(said(ALICE, action=tap(checkin, 4)))
        replies = await lite.handle(said(BOB, action=tap(checkin, 4)))
        celebrations.append([r.text for r in replies if "🎉" in r.text])
        assert f"Streak: {day + 1} day" in replies[1].text
        clock.advance(days=1)
    assert [i + 1 for i, c in enumerate(celebrations) if c] == [3, 7]
    assert "7 days in a row" in celebrations[6][0]
    clock.advance(days=1)  # a day with no answers breaks the streak
    checkin = await ask(lite, messenger)
    await lite.handle(said(ALICE, action=tap(checkin, 3)))
    replies = await lite.handle(said(BOB, action=tap(checkin, 3)))
    assert "Streak: 1 day" in replies[1].text


async def test_unknown_or_forged_buttons_change_nothing(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    [bad] = await lite.handle(said(ALICE, action="a:999:4"))
    assert "isn't here any more" in bad.text
    delivery_id = tap(checkin, 1).split(":")[1]
    [bad] = await lite.handle(said(ALICE, action=f"a:{delivery_id}:9"))
    assert "1 to 5" in bad.text
    [bad] = await lite.handle(said(ALICE, action="zzz"))
    assert "button" in bad.text
    assert "No check-in answers" in (await one(lite, said(ALICE, "/progress"))).text
