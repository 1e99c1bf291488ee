"""Every message that carries what a partner said or did goes with protect_content: Telegram then
refuses to forward or save it, so it cannot be passed on from a partner's phone."""

from __future__ import annotations

from bot.messages import Outgoing
from bot.service import Tandem
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_checkins import ask, tap
from tests.test_promises import button
from tests.test_two_voices import pair, privately


def unprotected(messages: list[Outgoing]) -> list[str]:
    return [m.text for m in messages if not m.protect]


async def test_the_instant_reveal_line_and_the_nudge_are_protected(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    await lite.handle(said(ALICE, "/reveal instant"))
    replies = await lite.handle(said(ALICE, action=tap(checkin, 4)))
    [line] = [m for m in replies if m.text.startswith("Alice: 4/5")]
    [nudge] = [m for m in replies if m.text.startswith("🌙 Alice has answered")]
    assert line.protect and nudge.protect


async def test_progress_with_its_scores_and_chart_is_protected(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)
    await lite.handle(said(ALICE, action=tap(checkin, 4)))
    await lite.handle(said(BOB, action=tap(checkin, 2)))
    [progress] = await lite.handle(said(ALICE, "/progress"))
    assert "Alice" in progress.text and progress.protect


async def test_promise_lines_are_protected(lite: Tandem, clock: FixedClock) -> None:
    await pair(lite, ALICE)
    await pair(lite, BOB)
    made = await lite.handle(said(ALICE, "/promise plan our walk by fri"))
    assert made and unprotected(made) == []
    [asked] = await lite.handle(privately(ALICE, "/promise cook on sunday by sun"))
    shared = await lite.handle(privately(ALICE, action=button(asked, "Shared")))
    [line] = [m for m in shared if "made a promise" in m.text]
    assert line.protect
    [listing, *_] = [m for m in await lite.handle(privately(ALICE, "/promises")) if m.buttons] or [
        None
    ]
    assert listing is not None
    kept = await lite.handle(privately(ALICE, action=button(listing, "Done")))
    [party] = [m for m in kept if "kept a promise" in m.text]
    assert party.to == HOME and party.protect
