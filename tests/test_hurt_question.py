"""The hurt partner's private question: asked of a partner who chose "I'm learning to trust
again", after their own check-in, in their private chat; shown to its author alone.

Alice chose that side; Bob did not. Everything Bob could ever read (the shared chat, his private
chat, his /progress, his export, the weekly look back) is gathered and searched for it.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.messages import Outgoing
from bot.service import Tandem
from tests.conftest import export_of, exported, one
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_crypto import stored
from tests.test_two_voices import checkin_due, couple, dm, pair, privately, tap

HURT = "how much did the hurt intrude"


async def learning_to_trust(tandem: Tandem, who: tuple[str, str]) -> None:
    [choice] = await tandem.handle(privately(who, "/perspective"))
    [learning] = [b for b in choice.buttons if b.label == "I'm learning to trust again"]
    await tandem.handle(privately(who, action=learning.action))


async def a_day_with_the_hurt_answered(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> list[Outgoing]:
    """Alice (learning to trust) and Bob answer Saturday's check-in, each in private; Alice
    answers her private question with 4. Every message sent anywhere, in order."""
    await couple(tandem)
    await learning_to_trust(tandem, ALICE)
    checkins = await checkin_due(tandem, clock, messenger)
    sent: list[Outgoing] = list(checkins.values())
    alice = await tandem.handle(privately(ALICE, action=tap(checkins[dm(ALICE)], 3)))
    [asked] = [m for m in alice if HURT in m.text.lower()]
    assert asked.to == dm(ALICE) and asked.private and asked.protect
    assert [b.detail for b in asked.buttons] == [
        "barely",
        "a little",
        "some of the day",
        "much of the day",
        "most of the day",
    ]
    noted = await one(tandem, privately(ALICE, action=asked.buttons[3].action))
    assert noted.to == dm(ALICE) and "Only you see it" in noted.text
    bob = await tandem.handle(privately(BOB, action=tap(checkins[dm(BOB)], 5)))
    assert not any(HURT in m.text.lower() for m in bob)  # Bob chose no such side
    return sent + alice + [noted] + bob + messenger.take()


def bobs(messages: list[Outgoing]) -> list[str]:
    """What reached a chat Bob reads: the shared one and his own."""
    return [m.text for m in messages if m.to in (HOME, dm(BOB))]


async def test_the_other_partner_never_sees_the_hurt_answer_anywhere(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    sent = await a_day_with_the_hurt_answered(lite, clock, messenger)
    [reveal] = [m for m in sent if m.to == HOME and "both checked in" in m.text]
    assert "Alice 3/5 · Bob 5/5" in reveal.text  # the reveal happened, without the hurt
    seen = bobs(sent)
    seen.append((await one(lite, said(BOB, "/progress"))).text)  # the shared chat's
    seen.append((await one(lite, privately(BOB, "/progress"))).text)  # his private chat's
    seen.append((await one(lite, said(ALICE, "/progress"))).text)  # hers, in the shared chat
    clock.set("2026-11-22T19:00:01+00:00")  # Sunday: the weekly look back, shared
    await lite.dispatch_due()
    look_back = [m for m in messenger.take() if m.to == HOME]
    assert look_back and "🌿" in look_back[0].text
    seen += [m.text for m in look_back]
    assert seen and not [t for t in seen if "hurt" in t.lower()], seen

    replies = await lite.handle(privately(BOB, "/export"))
    export, readable = exported(replies), exported(replies, ".txt")
    assert export.attachment is not None and readable.attachment is not None
    assert b"hurt" not in readable.attachment.data
    rows = json.loads(export.attachment.data)["checkins"]
    assert {r["by"] for r in rows} == {"Alice", "Bob"}  # Alice's revealed answer is there…
    assert not [r for r in rows if "hurt" in r]  # …without her private one
    assert b"hurt" not in export.attachment.data


async def test_the_author_sees_it_in_their_private_progress_and_export(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await a_day_with_the_hurt_answered(lite, clock, messenger)
    progress = await one(lite, privately(ALICE, "/progress"))
    assert progress.to == dm(ALICE)
    assert (
        "🔒 Just for you, how much the hurt intruded (1 barely to 5 most of the day): Sat 21 Nov 4"
        in progress.text
    )
    # The chart's line of her own, named in the picture's text for screen readers.
    assert progress.attachment is not None
    assert "Alice: the hurt (only you) 1 day, average 4.0" in progress.text
    export = await export_of(lite, privately(ALICE, "/export"))
    assert export.attachment is not None
    mine = [r for r in json.loads(export.attachment.data)["checkins"] if "hurt" in r]
    assert [(r["date"], r["hurt"]) for r in mine] == [("2026-11-21", 4)]


async def test_the_hurt_answer_is_sealed_at_rest(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger, tmp_path: Path
) -> None:
    await a_day_with_the_hurt_answered(lite, clock, messenger)
    [(value,)] = stored(
        tmp_path / "tandem.db", "SELECT hurt FROM checkinanswer WHERE hurt IS NOT NULL"
    )
    assert str(value).startswith("tk2:") and value != "4"


async def test_it_is_never_asked_in_a_shared_chat(lite: Tandem, messenger: FakeMessenger) -> None:
    """A tap in the group (Bob has no private chat yet, so the check-in is there too) would put
    the question in front of the other partner: it is asked only in the author's private chat."""
    await pair(lite, ALICE)
    await learning_to_trust(lite, ALICE)
    await lite.handle(said(BOB, "/start"))
    await lite.handle(said(ALICE, "/checkin"))
    [in_group] = [m for m in messenger.take() if m.buttons and m.to == HOME]
    replies = await lite.handle(said(ALICE, action=in_group.buttons[2].action))
    assert replies and not any(HURT in m.text.lower() for m in replies)
