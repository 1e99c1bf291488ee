"""/privacy is exactly true: each claim it makes about who sees what is held to the code here."""

from __future__ import annotations

import json

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


async def test_an_export_posted_in_the_group_holds_no_promise_just_for_you(lite: Tandem) -> None:
    """/privacy: otherwise the file is posted in the shared chat, without private notes or
    promises."""
    await pair(lite, ALICE)
    await pair(lite, BOB)
    [asked] = await lite.handle(privately(ALICE, "/promise stop checking my phone at dinner"))
    just_me = next(b.action for b in asked.buttons if b.label == "Just for me")
    await lite.handle(privately(ALICE, action=just_me))
    await lite.handle(Incoming(dm(ALICE), event=Event.REMOVED, direct=True))  # she blocks Tandem

    [posted] = [m for m in await lite.handle(said(ALICE, "/export")) if m.attachment]

    assert not posted.private and posted.attachment is not None
    assert b"phone" not in posted.attachment.data
    assert json.loads(posted.attachment.data)["promises"] == []
    privacy = (await one(lite, said(ALICE, "/privacy"))).text
    assert "without your private notes or promises" in privacy
