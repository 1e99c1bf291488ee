"""/privacy is exactly true: each claim it makes about who sees what is held to the code here."""

from __future__ import annotations

from bot.messages import Event, Incoming
from bot.service import Tandem
from tests.conftest import one, privacy_text
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
    privacy = await privacy_text(lite, ALICE)
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
    privacy = await privacy_text(lite, ALICE)
    assert "never in a shared chat" in privacy


async def test_privacy_answers_short_and_true_with_the_rest_a_tap_away(lite: Tandem) -> None:
    short = await one(lite, said(ALICE, "/privacy"))
    assert len(short.text.split()) <= 130  # about 120 words: read on a phone, in one go
    for truth in (
        "once you've both answered",  # what each partner sees
        "Never your private notes, your side, or a promise just for you",
        "encrypted; the key is in a file apart from the database",  # what is sealed, where the key is
        "/forget erases the space and your own records, never your partner's",  # who erases
        "Telegram and Discord carry every message",
    ):
        assert truth in short.text, truth
    [more] = short.buttons
    full = await privacy_text(lite, BOB)  # anyone may read it in full, partner or not
    assert "What Tandem keeps, and why" in full and full != short.text
    assert more.label == "Everything, in detail"
