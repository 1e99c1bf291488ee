"""Someone who leaves a space keeps power over what they left there, and nobody who takes their
seat later sees any of it."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.service import Tandem
from bot.store import CheckinAnswer, Member, Promise
from tests.conftest import export_of
from tests.fakes import ALICE, BOB, FakeMessenger, FixedClock, said
from tests.test_promises import button
from tests.test_two_voices import CAROL, checkin_due, couple, privately, tap


async def member_ids(tandem: Tandem, user_id: str) -> list[int | None]:
    async with tandem.store.unit() as session:
        members = (await session.exec(select(Member).where(Member.user_id == user_id))).all()
        return [m.id for m in members]


async def rows(tandem: Tandem, model: type, user_id: str) -> list[object]:
    ids = await member_ids(tandem, user_id)
    async with tandem.store.unit() as session:
        found = await session.exec(select(model).where(model.member_id.in_(ids)))  # type: ignore[attr-defined]
        return list(found.all())


async def bob_leaves_a_trace(tandem: Tandem, clock: FixedClock, messenger: FakeMessenger) -> None:
    await couple(tandem)
    sent = await checkin_due(tandem, clock, messenger)
    for who, score in ((ALICE, 4), (BOB, 2)):
        checkin = next(m for to, m in sent.items() if to.chat_id == f"dm-{who[0]}")
        await tandem.handle(privately(who, action=tap(checkin, score)))
    [asked] = await tandem.handle(privately(BOB, "/promise call my sister by sun"))
    await tandem.handle(privately(BOB, action=button(asked, "Shared")))
    await tandem.handle(privately(BOB, "/unpair"))


async def test_forget_me_after_unpair_erases_what_was_left(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await bob_leaves_a_trace(lite, clock, messenger)
    assert await rows(lite, Promise, BOB[0]) and await rows(lite, CheckinAnswer, BOB[0])

    [confirm] = await lite.handle(privately(BOB, "/forget me"))
    assert "you've left" in confirm.text and confirm.private
    [refused] = await lite.handle(privately(ALICE, action=confirm.buttons[0].action))
    assert "Only the person who asked" in refused.text
    [done] = await lite.handle(privately(BOB, action=confirm.buttons[0].action))
    assert "erased" in done.text
    assert await rows(lite, Promise, BOB[0]) == []
    assert await rows(lite, CheckinAnswer, BOB[0]) == []
    assert len(await rows(lite, CheckinAnswer, ALICE[0])) == 1  # Alice's own stay hers


async def test_whoever_takes_the_free_seat_sees_nothing_of_who_left(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await bob_leaves_a_trace(lite, clock, messenger)
    await lite.handle(said(CAROL, "/start"))
    export = (await export_of(lite, said(CAROL, "/export", whisper=True))).attachment
    assert export is not None
    data = json.loads(export.data)
    bob_ids = set(await member_ids(lite, BOB[0]))
    assert bob_ids
    assert [a for a in data["checkins"] if a.get("by") not in ("Alice", "Carol")] == []
    assert data["promises"] == [] and b"sister" not in export.data
    assert "Bob" not in json.dumps(data["members"])
