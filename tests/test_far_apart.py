"""A reveal where the two saw the day far apart gets one gentle line, never a verdict."""

from __future__ import annotations

import pytest

from bot.service import Tandem
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock
from tests.test_two_voices import checkin_due, couple, dm, privately, tap

GENTLE = "worth a kind question, not a verdict"


@pytest.mark.parametrize(
    ("alice", "bob", "gentle"),
    [(2, 4, True), (5, 1, True), (3, 4, False), (4, 4, False)],
)
async def test_a_big_difference_gets_one_gentle_line(
    lite: Tandem,
    clock: FixedClock,
    messenger: FakeMessenger,
    alice: int,
    bob: int,
    gentle: bool,
) -> None:
    await couple(lite)
    sent = await checkin_due(lite, clock, messenger)
    await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], bob)))
    replies = await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], alice)))
    [reveal] = [r for r in replies if r.to == HOME]
    assert f"Alice {alice}/5 · Bob {bob}/5" in reveal.text
    assert (GENTLE in reveal.text) == gentle
    assert reveal.text.count(GENTLE) <= 1


async def test_under_reveal_instant_the_last_score_is_posted_once_in_the_reveal(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    """It was posted twice, in the wrong order: the reveal with both scores, then "Bob: 5/5"."""
    await couple(lite)
    await lite.handle(privately(ALICE, "/reveal instant"))
    messenger.take()
    sent = await checkin_due(lite, clock, messenger)
    first = await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 5)))
    assert [r.text for r in first if r.to == HOME] == ["Alice: 5/5 for Sat 21 Nov."]
    last = await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 5)))
    [reveal] = [r for r in last if r.to == HOME]
    assert "Alice 5/5 · Bob 5/5" in reveal.text
