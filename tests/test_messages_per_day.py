"""Fewer messages (issue 21): a partner's scheduled day is one private message (the check-in
with today's question, with the day's step inside when the step goes to that chat too, and a
sided partner's own prompt), plus the reveal; the couple's shared space gets one message at
most. Counted per chat over whole days, through
the core, for a couple with a group and both private chats, a couple in private chats only, and
a couple where one partner has no private chat."""

from __future__ import annotations

from collections import Counter

from bot import actions
from bot.messages import Address, Outgoing
from bot.service import Tandem
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_two_voices import dm, pair, private_couple, privately

# Monday to Wednesday: the weekly look back (Sundays) is a week's message, not a day's.
DAYS = ("2026-11-23", "2026-11-24", "2026-11-25")


def per_chat(sent: list[Outgoing]) -> Counter[Address]:
    return Counter(m.to for m in sent)


async def live_days(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger, answerers: dict[str, Address]
) -> list[tuple[Counter[Address], list[Outgoing], list[Outgoing]]]:
    """Each day at 21:00 (the step and the check-in both set for then): what was sent on
    schedule, then each partner taps a score and passes on the question where they got it;
    what the taps sent beyond the tapper's own chat is the reveal."""
    days = []
    for day in DAYS:
        clock.set(f"{day}T21:00:00+00:00")
        await tandem.dispatch_due()
        scheduled = messenger.take()
        by_chat = {m.to: m for m in scheduled}
        revealed: list[Outgoing] = []
        for who, where in answerers.items():
            checkin = by_chat[where]
            assert "💬" in checkin.text and "❓ Today's question" in checkin.text
            user = ALICE if who == "alice" else BOB
            for action in (checkin.buttons[3].action, actions.today(clock.now().date(), "pass")):
                out = await tandem.handle(
                    said(user, to=where, action=action, direct=where != HOME, whisper=True)
                )
                revealed += out
        days.append((per_chat(scheduled), scheduled, revealed))
    return days


async def test_a_group_with_both_private_chats_gets_one_step_and_each_one_private_message(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await pair(lite, ALICE)
    await pair(lite, BOB)
    await lite.handle(said(ALICE, "/remind 21:00"))
    await lite.handle(said(ALICE, "/checkin 21:00"))
    [ask] = await lite.handle(privately(ALICE, "/perspective"))
    await lite.handle(privately(ALICE, action=ask.buttons[0].action))  # a side: its own steps
    messenger.take()
    days = await live_days(lite, clock, messenger, {"alice": dm(ALICE), "bob": dm(BOB)})
    for counts, scheduled, _ in days:
        # Her side's own step, on the days that bring one, rides in her check-in, below it.
        assert counts == {HOME: 1, dm(ALICE): 1, dm(BOB): 1}
        assert "🌱 Today's step" in next(m.text for m in scheduled if m.to == HOME)
    alices = [m.text for _, scheduled, _ in days for m in scheduled if m.to == dm(ALICE)]
    sided = [text for text in alices if "🌱 Just for you today" in text]
    assert sided and len(sided) < len(alices)  # every other day
    assert all(text.index("💬") < text.index("🌱 Just for you today") for text in sided)
    bobs = [m.text for _, scheduled, _ in days for m in scheduled if m.to == dm(BOB)]
    assert not any("Just for you" in text for text in bobs)  # Alice's side stays hers


async def test_a_couple_in_private_chats_only_gets_the_step_and_one_check_in_each_a_day(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await private_couple(lite)
    await lite.handle(privately(ALICE, "/remind 21:00"))
    await lite.handle(privately(ALICE, "/checkin 21:00"))
    messenger.take()
    days = await live_days(lite, clock, messenger, {"alice": dm(ALICE), "bob": dm(BOB)})
    for counts, scheduled, revealed in days:
        # No group: the step (the shared space's one message) rides in each private check-in,
        # above it, with today's question.
        assert counts == {dm(ALICE): 1, dm(BOB): 1}
        for m in scheduled:
            assert m.text.index("🌱 Today's step") < m.text.index("💬")
            assert "❓ Today's question" in m.text and m.buttons
        assert scheduled[0].text.split("💬")[0] == scheduled[1].text.split("💬")[0]  # one step
        # The reveals (the scores, then the words) reach each chat once each.
        scores = [m for m in revealed if "You've both checked in" in m.text]
        words = [m for m in revealed if "answered by you both" in m.text]
        assert per_chat(scores) == per_chat(words) == {dm(ALICE): 1, dm(BOB): 1}


async def test_a_partner_without_a_private_chat_gets_the_question_in_the_shared_check_in(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await pair(lite, ALICE)
    await lite.handle(said(BOB, "/start"))  # a partner, with no private chat
    await lite.handle(said(ALICE, "/remind 21:00"))
    await lite.handle(said(ALICE, "/checkin 21:00"))
    messenger.take()
    days = await live_days(lite, clock, messenger, {"alice": dm(ALICE), "bob": HOME})
    for counts, scheduled, _ in days:
        # The group gets one message: the step, then the shared check-in with Bob's question.
        assert counts == {HOME: 1, dm(ALICE): 1}
        [shared] = [m for m in scheduled if m.to == HOME]
        assert shared.text.index("🌱 Today's step") < shared.text.index("💬")
        assert "❓ Today's question" in shared.text
        assert "🌱 Today's step" not in next(m.text for m in scheduled if m.to == dm(ALICE))
    # Bob's words would be read by everyone in the group: Answer there points him to a private
    # chat (a form only he sees, on Discord), and nothing is asked of him in front of Alice.
    clock.set("2026-11-26T21:00:00+00:00")
    await lite.dispatch_due()
    shared = next(m for m in messenger.take() if m.to == HOME and "💬" in m.text)
    answer = next(b.action for b in shared.buttons if b.label == "✍️ Answer")
    [told] = await lite.handle(said(BOB, action=answer))
    assert "private chat" in told.text and not told.asks


async def test_yesterdays_question_is_answered_after_midnight_until_todays_check_in_comes(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    """As a late tap on yesterday's check-in still counts, words begun for yesterday's question
    before midnight are saved after it, until today's check-in comes; after that the day is
    closed, and words for it are given back with the day named, never dropped in silence."""
    await pair(lite, ALICE)
    await pair(lite, BOB)
    await lite.handle(said(ALICE, "/checkin 21:00"))
    clock.set("2026-11-23T21:00:00+00:00")
    await lite.dispatch_due()
    monday = {m.to: m for m in messenger.take()}
    answer = next(b.action for b in monday[dm(ALICE)].buttons if b.label == "✍️ Answer")
    clock.set("2026-11-23T23:50:00+00:00")
    [asked] = await lite.handle(privately(ALICE, action=answer))
    assert asked.asks
    clock.set("2026-11-24T00:05:00+00:00")  # she sends her words past midnight
    [saved] = await lite.handle(privately(ALICE, "The tea you made.", reply_to="asked-1"))
    assert "Your answer to Mon 23 Nov's question is saved" in saved.text
    assert saved.to == dm(ALICE) and not messenger.take()
    # Bob passes on Monday's question in the morning, from Monday's check-in: the reveal is
    # Monday's, in the group.
    passing = next(b.action for b in monday[dm(BOB)].buttons if b.label == "Pass on this one")
    clock.set("2026-11-24T08:00:00+00:00")
    out = await lite.handle(privately(BOB, action=passing))
    [shown] = [m for m in out if m.to == HOME]
    assert "Mon 23 Nov's question" in shown.text and "The tea you made." in shown.text

    # Tuesday: Alice opens the box before midnight, and today's (Wednesday's) check-in comes
    # before she sends: that day is closed, and her words come back to her.
    clock.set("2026-11-24T21:00:00+00:00")
    await lite.dispatch_due()
    tuesday = {m.to: m for m in messenger.take()}
    answer = next(b.action for b in tuesday[dm(ALICE)].buttons if b.label == "✍️ Answer")
    clock.set("2026-11-24T23:55:00+00:00")
    await lite.handle(privately(ALICE, action=answer))
    clock.set("2026-11-25T21:00:00+00:00")
    await lite.dispatch_due()
    messenger.take()
    clock.set("2026-11-25T21:05:00+00:00")
    [told] = await lite.handle(privately(ALICE, "A slow breakfast.", reply_to="asked-2"))
    assert "Tue 24 Nov's question closed when today's check-in came" in told.text
    assert "“A slow breakfast.”" in told.text and told.to == dm(ALICE)
    [mine] = await lite.handle(privately(ALICE, "/answers"))
    assert "A slow breakfast" not in mine.text
    assert not [m for m in messenger.take() if m.to != dm(ALICE)]
    # Its buttons say the same, and the next words are not taken for that day either.
    [late] = await lite.handle(privately(ALICE, action=answer))
    assert "closed when today's check-in came" in late.text and "Today's is waiting" in late.text
