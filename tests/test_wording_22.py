"""Words a new couple tripped over (issue 22): a note's choices after the reveal, a note never
shared, what a streak is called, the group check-in's reply, and the private-chat welcome."""

from __future__ import annotations

from bot.service import Tandem
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_checkins import ask
from tests.test_checkins import tap as tap_here
from tests.test_safety import SCARED
from tests.test_two_voices import checkin_due, couple, dm, privately, tap


async def test_after_the_reveal_a_private_note_offers_share_with_the_partner_not_at_the_reveal(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    sent = await checkin_due(lite, clock, messenger)
    await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 4)))
    before = await lite.handle(
        privately(BOB, "long day", reply_to=messenger.message_id_of(sent[dm(BOB)]))
    )
    assert [b.label for b in before[0].buttons] == ["Keep private", "Share at the reveal"]
    await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 3)))  # the reveal
    [saved] = await lite.handle(
        privately(ALICE, "felt close today", reply_to=messenger.message_id_of(sent[dm(ALICE)]))
    )
    assert [b.label for b in saved.buttons] == ["Keep private", "Share with Bob"]
    shared, line = await lite.handle(privately(ALICE, action=saved.buttons[1].action))
    assert shared.to == dm(ALICE) and line.to == HOME and "felt close today" in line.text


async def test_a_crisis_note_never_shared_is_not_said_to_be_shared_again(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    sent = await checkin_due(lite, clock, messenger)
    await lite.handle(privately(ALICE, "/timezone New York"))
    replies = await lite.handle(
        privately(ALICE, SCARED, reply_to=messenger.message_id_of(sent[dm(ALICE)]))
    )
    care = replies[-1]
    assert care.text.startswith("Thank you for telling me.")
    assert "again" not in care.text
    assert "This note stays private: only you see it, unless you choose to share it." in care.text


async def test_a_streak_is_not_called_promises_kept(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    said_at_three = []
    for _ in range(3):
        checkin = await ask(lite, messenger)
        await lite.handle(said(ALICE, action=tap_here(checkin, 4)))
        replies = await lite.handle(said(BOB, action=tap_here(checkin, 4)))
        said_at_three = [r.text for r in replies if "🎉" in r.text]
        clock.advance(days=1)
    [milestone] = said_at_three
    assert "3 days you both showed up" in milestone  # issue 23's kinder frame
    assert "promise" not in milestone


async def test_the_group_check_in_says_a_reply_there_is_seen_by_everyone(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    assert checkin.to == HOME
    assert "reply to this message. A reply in a group is seen by everyone in it." in checkin.text


async def test_start_in_a_private_chat_gets_a_private_welcome(lite: Tandem) -> None:
    [welcome] = await lite.handle(privately(ALICE, "/start"))
    assert welcome.to == dm(ALICE)
    assert welcome.text.startswith(lite.library.texts.welcome_private.strip())  # then set-up
    assert "This is your private chat with me" in welcome.text
    assert "join this space" not in welcome.text and "shown here together" not in welcome.text
    assert "/pair" in welcome.text and "not therapy" in welcome.text
    [in_group] = await lite.handle(said(BOB, "/start"))  # a group still gets the group's
    assert in_group.text.startswith(lite.library.texts.welcome.strip())
