"""Plain words on Discord, through discord.py's own objects over the fake gateway: typed in a DM
(no message-content intent needed), or in a channel with a mention of Tandem."""

from __future__ import annotations

import asyncio

from tests.discord.discord_fakes import ALICE, APP_ID, BOB, GUILD_ID, HOME, FakeDiscord, Post
from tests.discord.harness import Couple
from tests.discord.test_discord_gateway import live

__all__ = ["live"]


async def _answers(live: Couple, fake: FakeDiscord, payload: dict[str, object]) -> list[Post]:
    before = len(fake.timeline)
    await fake.push("MESSAGE_CREATE", payload)
    await live.settle()
    for _ in range(100):  # typed words are read in a task of their own: wait for the answer
        if any(p.shown for p in fake.timeline[before:]):
            break
        await asyncio.sleep(0.02)
    await live.adapter.idle()
    return [p for p in fake.timeline[before:] if p.shown]


async def test_words_in_a_dm_are_answered_there_with_buttons(
    live: Couple, fake: FakeDiscord
) -> None:
    await live.slash(ALICE, "start")
    await live.slash(BOB, "start")
    await live.slash(ALICE, "pair")  # her DM with Tandem is linked: she is a partner there
    dm = fake.dm(ALICE)
    [hello] = await _answers(live, fake, fake.typed(ALICE, dm, "hiii 👋"))
    assert hello.channel_id == dm.id and "Good to hear from you" in hello.content
    assert [label for label, _ in hello.buttons] == ["Today's question", "Check in now"]
    [what] = await _answers(live, fake, fake.typed(ALICE, dm, "wat now?"))
    assert "Here's what's open today" in what.content
    [offer] = await _answers(live, fake, fake.typed(ALICE, dm, "we laughed a lot today"))
    assert offer.content == "Keep this as today's private note?"
    assert [label for label, _ in offer.buttons] == [
        "Keep private",
        "Share at the reveal",
        "Don't keep",
    ]


async def test_a_mention_in_the_channel_is_answered_there_and_chatter_is_not(
    live: Couple, fake: FakeDiscord
) -> None:
    await live.slash(ALICE, "start")
    await live.slash(BOB, "start")
    await live.slash(ALICE, "schedule")  # a command ends the set-up's wait for Alice's city

    def in_home(content: str, mentions: bool) -> dict[str, object]:
        payload = fake.typed(ALICE, HOME, content)
        payload["guild_id"] = str(GUILD_ID)
        if mentions:
            payload["mentions"] = [{**live_bot(), "bot": True}]
        return payload

    assert await _answers(live, fake, in_home("how does this work?", mentions=False)) == []
    [how] = await _answers(live, fake, in_home(f"<@{APP_ID}> how does this work?", mentions=True))
    assert how.channel_id == HOME.id and how.content.startswith("Each day I send one small step")
    [other] = await _answers(live, fake, in_home(f"<@{APP_ID}> purple rain", mentions=True))
    assert "Two things to try" in other.content and "note" not in other.content


def live_bot() -> dict[str, object]:
    from tests.discord.discord_fakes import BOT

    return BOT.user()
