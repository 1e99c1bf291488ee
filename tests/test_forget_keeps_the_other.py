"""/forget by one partner erases the shared space and the asker's own data; the other partner's
own answers, notes and promises stay theirs, and they are told in a neutral line."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.service import Tandem
from bot.store import CheckinAnswer, Member, Promise, Schedule, Space
from tests.conftest import exported
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_promises import button
from tests.test_two_voices import checkin_due, couple, dm, privately, tap


async def stored(tandem: Tandem, model: type) -> list[object]:
    async with tandem.store.unit() as session:
        return list((await session.exec(select(model))).all())


async def test_one_partner_cannot_erase_the_others_records(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    sent = await checkin_due(lite, clock, messenger)
    await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 4)))
    await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 2)))
    [asked] = await lite.handle(privately(BOB, "/promise keep a diary of this by sun"))
    await lite.handle(privately(BOB, action=button(asked, "Just for me")))

    [confirm] = await lite.handle(said(ALICE, "/forget"))
    replies = await lite.handle(said(ALICE, action=confirm.buttons[0].action))

    [told] = [r for r in replies if r.to == dm(BOB)]
    assert told.text.startswith("This shared space was erased. Your own answers")
    assert "Alice" not in told.text and told.protect  # neutral: not who, not why
    [done] = [r for r in replies if r.text.startswith("🧹 Done.")]
    assert done.to == dm(ALICE)  # "you've left it": for the asker alone, in her private chat
    [shared] = [r for r in replies if r.to == HOME]
    assert shared.text == "🧹 This space's schedule and shared history are erased."
    members = {m.user_id: m for m in await stored(lite, Member)}  # type: ignore[attr-defined]
    assert ALICE[0] not in members and BOB[0] in members
    answers = await stored(lite, CheckinAnswer)
    assert [a.member_id for a in answers] == [members[BOB[0]].id]  # type: ignore[attr-defined]
    assert [p.member_id for p in await stored(lite, Promise)] == [members[BOB[0]].id]  # type: ignore[attr-defined]
    assert await stored(lite, Schedule) == []
    assert len(await stored(lite, Space)) == 1  # kept, quiet: his private chat still reaches it

    mine = exported(await lite.handle(privately(BOB, "/export")))
    assert mine.attachment is not None
    data = json.loads(mine.attachment.data)
    assert [p["text"] for p in data["promises"]] == ["keep a diary of this"]
    assert [a["score"] for a in data["checkins"]] == [2]


async def test_with_nothing_of_the_others_the_whole_space_goes(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    [confirm] = await lite.handle(said(ALICE, "/forget"))
    replies = await lite.handle(said(ALICE, action=confirm.buttons[0].action))
    assert all("Everything Tandem kept about this space is erased" in r.text for r in replies)
    assert await stored(lite, Space) == [] and await stored(lite, Member) == []
