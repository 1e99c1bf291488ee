"""'Partly' on a promise is honest progress, not 'kept': it asks whether to carry the promise on
to a new day or let it go, and the weekly look back counts it apart (issue 22)."""

from __future__ import annotations

from bot import actions
from bot.service import Tandem
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_promises import button, couple, due, promises_in
from tests.test_two_voices import dm, privately
from tests.test_weekly import berlin_week, look_backs


async def test_partly_asks_to_carry_it_on_or_let_it_go_and_carries_it_to_the_day_chosen(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite, "/checkin 21:00")
    await lite.handle(said(ALICE, "/promise plan Saturday's walk by fri"))
    [ask] = await due(lite, clock, messenger, "2026-11-27T21:00:00+00:00")  # Fri 27 Nov
    [partly] = await lite.handle(privately(ALICE, action=button(ask, "Partly")))
    assert partly.to == dm(ALICE) and "Partly is still a step" in partly.text
    assert "not as kept" in partly.text and "Carry it on to a new day, or let it go?" in partly.text
    assert [b.label for b in partly.buttons] == ["Tomorrow", "In 3 days", "Next week", "Let it go"]
    assert messenger.take() == []  # nothing to Bob, nothing to the group

    [carried] = await lite.handle(privately(ALICE, action=button(partly, "In 3 days")))
    assert carried.to == dm(ALICE)
    assert carried.text == (
        "⏳ Carried on: “plan Saturday's walk”, by Mon 30 Nov. I'll ask you how it went, "
        "Mon 30 Nov at 21:00."
    )
    first, fresh = await promises_in(lite)
    assert (first.status, first.outcome, first.carried_to) == ("closed", "partly", fresh.id)
    assert (fresh.status, fresh.outcome, fresh.shared) == ("open", None, True)
    [twice] = await lite.handle(privately(ALICE, action=button(partly, "Tomorrow")))
    assert "carried on to Mon 30 Nov already" in twice.text
    assert len(await promises_in(lite)) == 2  # nothing changed
    [refused] = await lite.handle(privately(BOB, action=button(partly, "Next week")))
    assert "Only the one who made this promise" in refused.text

    assert await due(lite, clock, messenger, "2026-11-29T21:00:00+00:00") == []
    [again] = await due(lite, clock, messenger, "2026-11-30T21:00:00+00:00")
    assert again.to == dm(ALICE) and "“plan Saturday's walk”, by Mon 30 Nov" in again.text
    listing = await lite.handle(privately(ALICE, "/promises"))
    assert len(listing) == 2 and "plan Saturday's walk" in listing[1].text


async def test_partly_then_let_it_go_carries_nothing(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite, "/checkin 21:00")
    await lite.handle(said(ALICE, "/promise plan Saturday's walk by fri"))
    [ask] = await due(lite, clock, messenger, "2026-11-27T21:00:00+00:00")
    [partly] = await lite.handle(privately(ALICE, action=button(ask, "Partly")))
    [gone] = await lite.handle(privately(ALICE, action=button(partly, "Let it go")))
    assert "Let go. What you did counts all the same" in gone.text
    [promise] = await promises_in(lite)
    assert (promise.status, promise.outcome, promise.carried_to) == ("closed", "partly", None)
    assert await due(lite, clock, messenger, "2026-12-04T21:00:00+00:00") == []


async def test_the_carry_choice_is_only_for_a_partly_kept_promise(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite, "/checkin 21:00")
    await lite.handle(said(ALICE, "/promise plan Saturday's walk by fri"))
    [promise] = await promises_in(lite)
    assert promise.id is not None
    [refused] = await lite.handle(privately(ALICE, action=actions.carry(promise.id, 1)))
    assert "isn't waiting for this choice" in refused.text
    assert len(await promises_in(lite)) == 1
    assert actions.parse(actions.carry(10**17, 7)) == actions.Carry(10**17, 7)
    assert len(actions.carry(10**17, 7).encode()) <= 64
    assert actions.parse("pc:1:2") is None


async def test_the_look_back_counts_partly_kept_promises_apart_from_kept_ones(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await berlin_week(lite, clock, messenger)
    for words in ("plan the walk", "call Mum", "fix the shelf", "book the table"):
        await lite.handle(said(ALICE, f"/promise {words} by today"))
    promised = await lite.handle(privately(ALICE, "/promises"))
    answers = {
        "plan the walk": "Done",
        "call Mum": "Done",
        "fix the shelf": "Partly",
        "book the table": "Let it go",
    }
    for item in promised[1:]:
        words = item.text.split("”")[0].strip("“")
        replies = await lite.handle(privately(ALICE, action=button(item, answers[words])))
        if answers[words] == "Partly":
            [partly] = [r for r in replies if r.buttons]
            await lite.handle(privately(ALICE, action=button(partly, "Next week")))
    messenger.take()
    [back] = await look_backs(lite, clock, messenger, "2026-11-22T18:00:01+00:00")
    assert back.to == HOME
    assert "🤝 Shared promises this week: 2 kept, 1 partly." in back.text
    assert "shelf" not in back.text and "table" not in back.text
