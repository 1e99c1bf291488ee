"""/support and crisis words through the real PTB stack: a group sees only a neutral line, the
deep link opens the answer privately, and words typed in a private chat reach the core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.content import Library
from tests.fakes import FixedClock
from tests.telegram.fake_api import ALICE, BOB, DM, GROUP, FakeBotApi, private_chat
from tests.telegram.harness import Running, start_app


@pytest.fixture
async def bot(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> AsyncIterator[Running]:
    api.members |= {(GROUP.id, ALICE.id), (GROUP.id, BOB.id)}
    running = await start_app(api, db, library, clock)
    yield running
    await running.stop()


async def test_support_in_a_group_is_a_neutral_line_whose_link_answers_privately(
    bot: Running,
) -> None:
    await bot.say("/start")
    await bot.say("/timezone London")
    neutral = await bot.say("/support")
    assert neutral.text == "🔒 I'll answer that in your private chat with me. Tap below to open it."
    [url] = neutral.urls
    [payload] = parse_qs(urlsplit(url).query)["start"]
    assert payload == "support-GB"

    answer = await bot.say(f"/start {payload}", chat=DM)
    assert answer.text.startswith("🆘 In danger right now? Call 999")
    assert "0808 2000 247" in answer.text and answer.protected
    assert bot.api.sent(private_chat(BOB).id) == []


async def test_support_from_a_linked_partner_goes_to_their_private_chat(bot: Running) -> None:
    await bot.say("/start")
    offer = await bot.say("/pair")
    [code] = parse_qs(urlsplit(offer.urls[0]).query)["start"]
    await bot.say(f"/start {code}", chat=DM)
    mark = len(bot.api.calls)
    pointer = await bot.say("/support")
    [answer] = await bot.api.replies(1, chat_id=DM.id, after=mark)
    assert pointer.text == "🔒 I've answered in your private chat with me."
    assert answer.text.startswith("🆘 In danger right now?") and answer.protected


async def test_crisis_words_typed_in_a_private_chat_get_a_gentle_reply(bot: Running) -> None:
    await bot.say("/start", chat=DM)
    hello = await bot.say("just saying hello", chat=DM)
    assert "Thank you for telling me" not in hello.text  # plain words, answered as such
    mark = len(bot.api.calls)
    reply = await bot.say("I don't feel safe at home", chat=DM)
    assert reply.text.startswith("Thank you for telling me.")
    assert "findahelpline.com" in reply.text and reply.protected
    answered = [c for c in bot.api.calls[mark:] if c.method.startswith("send")]
    assert answered == [reply]  # the care alone: no note offer, no other answer
