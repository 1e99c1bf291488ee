""" "Remove this from the chat" on Discord, through the real discord.py objects: in a DM Tandem
deletes its own answer; an ephemeral answer (only theirs, and it goes) has no such button; the
channel and the partner see nothing of it."""

from __future__ import annotations

from bot.safety.replies import NOT_REMOVED, REMOVE_LABEL, REMOVED
from tests.discord.discord_fakes import ALICE, BOB, HOME, FakeDiscord
from tests.discord.harness import Couple


async def test_support_answered_in_a_dm_can_be_removed_there(
    couple: Couple, fake: FakeDiscord
) -> None:
    await couple.slash(ALICE, "start")
    await couple.slash(BOB, "start")
    ephemeral = await couple.slash(ALICE, "support")  # no DM linked yet: answered ephemerally
    [only_hers] = [p for p in ephemeral.posts if p.shown]
    assert only_hers.ephemeral and "In danger right now?" in only_hers.content
    assert only_hers.buttons == []  # it is only hers, and goes by itself

    await couple.slash(ALICE, "pair")
    channel_before = fake.public(HOME)
    asked = await couple.slash(ALICE, "support")
    assert fake.public(HOME) == channel_before  # the channel is told nothing
    assert asked.private == ["🔒 I've answered in your private chat with me."]
    dm = fake.dm(ALICE)
    answer = fake.find(dm, "In danger right now?")
    assert not answer.ephemeral and (REMOVE_LABEL, "x") in answer.buttons

    tapped = await couple.tap(ALICE, answer, REMOVE_LABEL)
    assert answer.deleted
    assert ("DELETE", f"/api/v10/channels/{dm.id}/messages/{answer.message_id}") in fake.requests
    assert tapped.private == [REMOVED] and tapped.public == []
    assert not any("In danger" in text for text in fake.public(dm))
    assert fake.public(HOME) == channel_before
    assert fake.private(BOB) == [] and BOB.id not in fake.dms

    # A second tap (the message still on a slow screen): Discord knows it no more; kindly said.
    again = await couple.tap(ALICE, answer, REMOVE_LABEL)
    assert again.private == [NOT_REMOVED] and again.public == []
    assert fake.public(HOME) == channel_before
