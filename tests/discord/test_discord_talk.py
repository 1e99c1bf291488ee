"""Plain words on Discord, through discord.py's own objects over the fake gateway: typed in a DM
(no message-content intent needed), or in a channel with a mention of Tandem."""

from __future__ import annotations

import asyncio

from tests.discord.discord_fakes import (
    ALICE,
    APP_ID,
    BOB,
    GUILD_ID,
    HOME,
    FakeDiscord,
    Post,
)
from tests.discord.harness import Couple
from tests.discord.test_discord_gateway import live
from tests.discord.test_discord_two_voices import dms_closed

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


def mentioning(fake: FakeDiscord, content: str) -> dict[str, object]:
    """Alice's words in the server's channel, mentioning Tandem."""
    payload = fake.typed(ALICE, HOME, f"<@{APP_ID}> {content}")
    payload["guild_id"] = str(GUILD_ID)
    payload["mentions"] = [{**live_bot(), "bot": True}]
    return payload


async def test_crisis_words_typed_in_the_channel_get_help_in_the_writers_dm_only(
    live: Couple, fake: FakeDiscord
) -> None:
    """A channel message has no reply only its writer sees; help must still reach them, and
    never the channel, where the partner reads."""
    await live.slash(ALICE, "start")
    await live.slash(BOB, "start")
    await live.slash(ALICE, "schedule")
    [help_] = await _answers(live, fake, mentioning(fake, "I'm scared, he said he would hurt me"))
    assert help_.channel_id == fake.dm(ALICE).id
    assert "you deserve to" in help_.content
    assert not [p for p in fake.timeline if p.channel_id == HOME.id and "frightening" in p.content]


async def test_when_discord_refuses_the_dm_the_channel_gets_a_line_that_says_nothing_of_why(
    live: Couple, fake: FakeDiscord
) -> None:
    await live.slash(ALICE, "start")
    await live.slash(BOB, "start")
    await live.slash(ALICE, "schedule")
    dms_closed(fake, ALICE)
    [line] = await _answers(live, fake, mentioning(fake, "I'm scared, he said he would hurt me"))
    assert line.channel_id == HOME.id
    assert "for you alone" in line.content and "/support" in line.content
    assert "frightening" not in line.content and "hurt" not in line.content


async def test_a_mistyped_city_in_the_channel_is_answered_with_an_example_in_the_writers_dm(
    live: Couple, fake: FakeDiscord
) -> None:
    await live.slash(ALICE, "start")  # the set-up asks Alice for her city
    [error_] = await _answers(live, fake, mentioning(fake, "Xqzzyville"))
    assert error_.channel_id == fake.dm(ALICE).id and "Europe/Berlin" in error_.content
    [done] = await _answers(live, fake, mentioning(fake, "Tokyo"))  # still asked, nothing changed
    assert "Asia/Tokyo" in done.content


def live_bot() -> dict[str, object]:
    from tests.discord.discord_fakes import BOT

    return BOT.user()
