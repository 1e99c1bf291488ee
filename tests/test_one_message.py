"""One message a chat a day (issue 21): the day's step rides in the check-in going to the same
chat, at the earlier of the two times, and a sided partner's own prompt rides in their private
message; planned together in one claim, so a failed send, a retry or a restart never loses the
step nor sends it twice."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.content import Library
from bot.messages import Address, Outgoing, SendResult, SendStatus
from bot.service import Tandem
from tests.conftest import build
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_two_voices import dm, pair, private_couple, privately

MONDAY = datetime.fromisoformat("2026-11-23T00:00:00+00:00")


async def rhythm(tandem: Tandem, messenger: FakeMessenger, step: str, checkin: str) -> None:
    """A couple in private chats only, with the step and the check-in at these times."""
    await private_couple(tandem)
    await tandem.handle(privately(ALICE, f"/remind {step}"))
    await tandem.handle(privately(ALICE, f"/checkin {checkin}"))
    messenger.take()


async def at(tandem: Tandem, clock: FixedClock, messenger: FakeMessenger, hhmm: str, day: int = 0):
    """What the schedules sent at `hhmm` on Monday (+ `day`), by chat."""
    when = MONDAY + timedelta(days=day)
    clock.set(f"{when.date().isoformat()}T{hhmm}:00+00:00")
    await tandem.dispatch_due()
    got: dict[Address, list[Outgoing]] = {}
    for m in messenger.take():
        got.setdefault(m.to, []).append(m)
    return got


def step_then_checkin(message: Outgoing) -> str:
    """The step above the check-in in one message (the check-in's buttons); the step's words."""
    text = message.text
    assert "🌱" in text and "💬" in text, text
    assert text.index("🌱") < text.index("💬") and message.buttons
    return text.split("💬")[0]


@pytest.mark.parametrize(
    ("step", "checkin", "first", "then"),
    [("20:00", "20:30", "20:00", "20:30"), ("20:30", "08:00", "08:00", "20:30")],
    ids=["step-first", "check-in-first"],
)
async def test_with_no_group_the_step_and_the_check_in_come_together_at_the_earlier_time(
    lite: Tandem,
    clock: FixedClock,
    messenger: FakeMessenger,
    step: str,
    checkin: str,
    first: str,
    then: str,
) -> None:
    clock.set("2026-11-23T07:00:00+00:00")  # set up on Monday morning
    await rhythm(lite, messenger, step, checkin)
    for day in range(3):
        got = await at(lite, clock, messenger, first, day)
        assert {chat: len(ms) for chat, ms in got.items()} == {dm(ALICE): 1, dm(BOB): 1}
        steps = {step_then_checkin(ms[0]) for ms in got.values()}
        assert len(steps) == 1  # the same step for both
        [shown] = await lite.handle(privately(BOB, "/schedule"))
        assert "today" not in shown.text  # both came: the next of each is tomorrow
        assert await at(lite, clock, messenger, then, day) == {}  # the later time brings nothing


async def test_a_group_gets_the_step_and_its_shared_check_in_in_one_message_and_the_private_ones_at_their_time(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await pair(lite, ALICE)
    await lite.handle(said(BOB, "/start"))  # a partner with no private chat
    await lite.handle(said(ALICE, "/remind 20:00"))
    await lite.handle(said(ALICE, "/checkin 21:00"))
    messenger.take()
    got = await at(lite, clock, messenger, "20:00")
    assert list(got) == [HOME]  # the shared check-in came with the step
    [shared] = got[HOME]
    step_then_checkin(shared)
    got = await at(lite, clock, messenger, "21:00")
    assert list(got) == [dm(ALICE)]  # Alice's own check-in keeps its time, without the step
    assert "🌱 Today's step" not in got[dm(ALICE)][0].text


async def test_a_check_in_that_fails_brings_its_step_when_it_is_sent_at_last(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await rhythm(lite, messenger, "20:00", "20:00")
    messenger.fail(dm(ALICE).chat_id, SendResult(SendStatus.RETRY, reason="NetworkError"))
    got = await at(lite, clock, messenger, "20:00")
    assert list(got) == [dm(BOB)]
    bobs = step_then_checkin(got[dm(BOB)][0])
    # A restart in between: a new core on the same database sends the retry, step and all.
    restarted = await build(
        lite.store.engine.url.render_as_string(False), clock, messenger, lite.library
    )
    await lite.store.close()
    try:
        got = await at(restarted, clock, messenger, "20:05")
        assert list(got) == [dm(ALICE)]
        assert step_then_checkin(got[dm(ALICE)][0]) == bobs
        assert await at(restarted, clock, messenger, "23:00") == {}
    finally:
        await restarted.store.close()


async def test_a_sided_partner_s_own_prompt_rides_in_the_one_private_message_there_is(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await rhythm(lite, messenger, "20:00", "off")
    [ask] = await lite.handle(privately(ALICE, "/perspective"))
    await lite.handle(privately(ALICE, action=ask.buttons[0].action))
    messenger.take()
    alices: list[str] = []
    for day in range(4):
        got = await at(lite, clock, messenger, "20:00", day)
        # No check-in set: each private chat gets the step alone, Alice's side below it.
        assert {chat: len(ms) for chat, ms in got.items()} == {dm(ALICE): 1, dm(BOB): 1}
        assert "Just for you" not in got[dm(BOB)][0].text
        alices.append(got[dm(ALICE)][0].text)
    sided = [t for t in alices if "🌱 Just for you today" in t]
    assert len(sided) == 2  # every other day
    assert all(t.index("🌱 Today's step") < t.index("🌱 Just for you today") for t in sided)


async def test_in_a_group_with_no_check_in_the_side_is_its_own_private_message(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await pair(lite, ALICE)
    await pair(lite, BOB)
    await lite.handle(said(ALICE, "/remind 20:00"))
    [ask] = await lite.handle(privately(BOB, "/perspective"))
    await lite.handle(privately(BOB, action=ask.buttons[1].action))
    messenger.take()
    counts = []
    for day in range(2):
        got = await at(lite, clock, messenger, "20:00", day)
        counts.append({chat: len(ms) for chat, ms in got.items()})
        for m in got.get(dm(BOB), []):
            assert m.text.startswith("🌱 Just for you today")
    assert sorted(counts, key=len) == [{HOME: 1}, {HOME: 1, dm(BOB): 1}]


async def test_on_a_path_the_step_in_the_check_in_is_the_path_s_and_a_side_gets_its_path_step(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger, library: Library
) -> None:
    await rhythm(lite, messenger, "20:00", "20:00")
    [ask] = await lite.handle(privately(BOB, "/perspective"))
    await lite.handle(privately(BOB, action=ask.buttons[1].action))
    await lite.handle(privately(ALICE, "/path breach"))
    messenger.take()
    texts = []
    for day in range(2):
        got = await at(lite, clock, messenger, "20:00", day)
        assert {chat: len(ms) for chat, ms in got.items()} == {dm(ALICE): 1, dm(BOB): 1}
        for ms in got.values():
            assert "🧭 Week 1 of 12" in step_then_checkin(ms[0])
        texts.append(got[dm(BOB)][0].text)
    # His side's path step, never the rotation's side prompt, and below the check-in.
    assert not any("🌱 Just for you today" in t for t in texts)
    assert any(
        t.index("💬") < t.index("🧭 Just for you, on your path")
        for t in texts
        if "on your path" in t
    )


async def test_a_check_in_asked_for_early_is_the_day_s_check_in_and_the_step_comes_alone(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    clock.set("2026-11-23T07:00:00+00:00")
    await rhythm(lite, messenger, "20:00", "20:30")
    [ask] = await lite.handle(privately(ALICE, "/perspective"))
    await lite.handle(privately(ALICE, action=ask.buttons[0].action))
    clock.set("2026-11-23T12:00:00+00:00")
    await lite.handle(privately(BOB, "/checkin"))  # asked for at noon
    asked = messenger.take()
    assert sorted(m.to.chat_id for m in asked if "💬 Your check-in" in m.text) == [
        dm(ALICE).chat_id,
        dm(BOB).chat_id,
    ]
    sides: list[str] = []
    for day in range(2):
        got = await at(lite, clock, messenger, "20:00", day)
        # Monday: the check-in came at noon, so the step comes by itself, and Alice's side on
        # its own too (the check-in it would ride in is gone); Tuesday: one message each again.
        for chat, ms in got.items():
            texts = [m.text for m in ms]
            assert sum("💬" in t for t in texts) == (0 if day == 0 else 1), (chat, texts)
            assert sum("🌱 Today's step" in t for t in texts) == 1
            sides += [t for t in texts if "Just for you" in t and chat == dm(ALICE)]
        assert await at(lite, clock, messenger, "20:30", day) == {}  # never a second check-in
    assert len(sides) == 1  # every other day, never lost to the early check-in


async def test_a_check_in_both_answered_at_noon_does_not_come_again_at_its_time(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await pair(lite, ALICE)
    await pair(lite, BOB)
    await lite.handle(said(ALICE, "/checkin 21:00"))
    messenger.take()
    clock.set("2026-11-21T12:00:00+00:00")
    await lite.handle(said(ALICE, "/checkin"))
    asked = {m.to: m for m in messenger.take()}
    replies = []
    for who in (ALICE, BOB):
        replies += await lite.handle(privately(who, action=asked[dm(who)].buttons[3].action))
    messenger.take()
    assert any("You've both checked in" in m.text for m in replies)
    clock.set("2026-11-21T21:00:00+00:00")
    await lite.dispatch_due()
    assert messenger.take() == []  # the day's check-in is answered: nothing more today
    clock.set("2026-11-22T21:00:00+00:00")
    await lite.dispatch_due()
    tomorrow = [m.to for m in messenger.take() if "💬 Your check-in" in m.text]
    assert sorted(a.chat_id for a in tomorrow) == [dm(ALICE).chat_id, dm(BOB).chat_id]
