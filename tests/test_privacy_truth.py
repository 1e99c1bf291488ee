"""/privacy is exactly true: each claim it makes about who sees what is held to the code here."""

from __future__ import annotations

from bot.messages import Event, Incoming
from bot.service import Tandem
from tests.conftest import one
from tests.fakes import ALICE, BOB, FakeMessenger, said
from tests.test_retention import couple
from tests.test_two_voices import dm, pair, privately


async def test_privacy_is_true_that_showing_more_never_reaches_back(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    """/privacy says an answer keeps the rule it was given under; this holds the code to it."""
    await couple(lite)
    await lite.handle(said(ALICE, "/reveal never"))
    await lite.handle(said(ALICE, "/checkin"))
    [checkin] = [m for m in messenger.take() if m.buttons]
    await lite.handle(said(ALICE, action=checkin.buttons[3].action))
    await lite.handle(said(BOB, action=checkin.buttons[1].action))
    assert "Bob 2" not in (await one(lite, said(ALICE, "/progress"))).text

    await lite.handle(said(ALICE, "/reveal together"))

    assert "Bob 2" not in (await one(lite, said(ALICE, "/progress"))).text
    privacy = (await one(lite, said(ALICE, "/privacy"))).text
    assert "it covers only answers given from then on" in privacy


async def test_an_export_is_never_posted_in_the_group(lite: Tandem) -> None:
    """/privacy: an export goes only where only its asker sees it, never to a shared chat (it
    would hold their own scores, even under /reveal never, and their promises just for them)."""
    await pair(lite, ALICE)
    await pair(lite, BOB)
    [asked] = await lite.handle(privately(ALICE, "/promise stop checking my phone at dinner"))
    just_me = next(b.action for b in asked.buttons if b.label == "Just for me")
    await lite.handle(privately(ALICE, action=just_me))
    await lite.handle(Incoming(dm(ALICE), event=Event.REMOVED, direct=True))  # she blocks Tandem

    replies = await lite.handle(said(ALICE, "/export"))

    assert [m for m in replies if m.attachment] == []
    assert "/pair" in replies[0].text
    privacy = (await one(lite, said(ALICE, "/privacy"))).text
    assert "never in a shared chat" in privacy
