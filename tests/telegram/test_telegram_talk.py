"""Plain words on Telegram, through the fake Bot API: a reply to Tandem's message or an
@mention in the group reaches the core as words for Tandem; the group's own chatter does not."""

from __future__ import annotations

from tests.telegram.fake_api import ALICE, BOB, DM, GROUP, USERNAME
from tests.telegram.harness import Running


async def test_a_mention_in_the_group_is_answered_with_buttons(bot: Running) -> None:
    await bot.say("/start", user=ALICE)
    await bot.say("/start", user=BOB)
    reply = await bot.say(f"@{USERNAME} what now?", user=ALICE)
    assert reply.text.startswith("Here's what's open today")
    markup = reply.params["reply_markup"]
    labels = [b["text"] for row in markup["inline_keyboard"] for b in row]
    assert labels == ["Today's question", "Check in now", "My schedule"]


async def test_a_reply_to_tandems_message_is_answered(bot: Running) -> None:
    await bot.say("/start", user=ALICE)
    schedule = await bot.say("/schedule", user=ALICE)
    reply = await bot.say("thanks!!", user=BOB, reply_to=schedule.result["message_id"])  # type: ignore[index]
    assert reply.text.startswith("You're welcome, Bob")


async def test_chatter_and_other_mentions_stay_unread(bot: Running) -> None:
    await bot.say("/start", user=ALICE)
    bot.api.say("what now?", user=ALICE)
    bot.api.say("@someone_else what now?", user=BOB)
    reply = await bot.say(f"hey @{USERNAME}", user=BOB)
    assert reply.text.startswith("Hi Bob 👋")  # a bare hello, from one who hasn't started
    assert len(bot.api.sent(GROUP.id)) == 2  # the welcome for /start, and this


async def test_a_mention_of_tandem_in_the_private_chat_is_read_without_it(bot: Running) -> None:
    """Some people address the bot by name out of habit; the name is not part of their words."""
    asked = await bot.say("/start", user=ALICE, chat=DM)
    assert "which city are you in?" in asked.text
    city = await bot.say(f"@{USERNAME} Berlin", user=ALICE, chat=DM)
    assert "Europe/Berlin" in city.text and "✅" in city.text
