"""/pause is quiet for both, look back included, and the other partner is told where they look."""

from __future__ import annotations

from bot.service import Tandem
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock
from tests.test_two_voices import dm, privately
from tests.test_weekly import berlin_week, look_backs


async def test_a_pause_from_a_private_chat_is_said_in_the_shared_space_and_quiets_the_look_back(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await berlin_week(lite, clock, messenger)  # Sun 22 Nov, 17:00 UTC; look back at 19:00 Berlin

    replies = await lite.handle(privately(ALICE, "/pause 3 days"))

    mine = [r for r in replies if r.to == dm(ALICE)]
    assert mine and "No prompts, check-ins or look backs" in mine[0].text
    [told] = [r for r in replies if r.to == HOME]
    assert told.text.startswith("⏸ Alice paused Tandem's messages for 3 days")
    assert all(r.to != dm(BOB) for r in replies)  # said where both look, once
    assert await look_backs(lite, clock, messenger, "2026-11-22T18:00:01+00:00") == []

    replies = await lite.handle(privately(BOB, "/resume"))
    assert [r.text for r in replies if r.to == HOME] == ["▶️ Bob resumed Tandem's messages."]
    assert "Resumed: prompts and check-ins are back on" in replies[0].text


async def test_a_pause_typed_in_the_shared_space_is_not_said_twice(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await berlin_week(lite, clock, messenger)
    from tests.fakes import said

    replies = await lite.handle(said(ALICE, "/pause"))
    assert len(replies) == 1 and replies[0].to == HOME  # everyone there sees the reply itself
