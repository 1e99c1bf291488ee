"""Today's question on Telegram: in each partner's private check-in, "Answer" opens a reply box
(ForceReply), the words come back as a reply, and nothing of them reaches the other partner or
the group before both answered; then the reveal, under each /reveal rule."""

from __future__ import annotations

import json

import pytest

from tests.telegram.fake_api import GROUP, Call, private_chat
from tests.telegram.harness import Running
from tests.telegram.test_telegram_two_voices import (
    ALEX,
    CHECKIN_DUE,
    SAM,
    bot,
    couple,
    dm,
    messages,
)

ALEX_WORDS = "The way you made tea without asking."
SAM_WORDS = "Sunday morning, before the phones came out."

__all__ = ["bot"]  # the couple's running bot (Alex, Sam and Robin in the group)


def answer_action(checkin: Call) -> str:
    [action] = [b["callback_data"] for b in checkin.buttons if b["text"] == "✍️ Answer"]
    return str(action)


async def write(bot: Running, checkin: Call, user: object, words: str) -> Call:
    """Taps "Answer" on the private check-in, then replies in the box that opens."""
    chat = private_chat(user)  # type: ignore[arg-type]
    mark = len(bot.api.calls)
    await bot.tap(checkin.result["message_id"], answer_action(checkin), user=user)  # type: ignore[arg-type]
    [ask] = await bot.api.replies(1, chat_id=chat.id, after=mark)
    assert ask.params["reply_markup"]["force_reply"] is True
    assert ask.protected and "Reply to this message" in ask.text
    return await bot.say(words, user=user, chat=chat, reply_to=ask.result["message_id"])  # type: ignore[arg-type]


async def due(bot: Running) -> tuple[Call, Call]:
    await couple(bot)
    await bot.say("/checkin 9pm", user=ALEX)
    bot.clock.set(CHECKIN_DUE)
    mark = len(bot.api.calls)
    await bot.tandem.dispatch_due()
    sent = bot.api.calls[mark:]
    [alex] = messages(sent, dm(ALEX))
    [sam] = messages(sent, dm(SAM))
    assert "❓ Today's question:" in alex.text
    return alex, sam


@pytest.mark.parametrize("rule", ["together", "never"])
async def test_words_in_a_reply_box_are_revealed_together_or_kept(bot: Running, rule: str) -> None:
    if rule == "never":
        await bot.say("/start", user=ALEX)
        await bot.say("/reveal never", user=ALEX)
    alex, sam = await due(bot)
    mark = len(bot.api.calls)
    saved = await write(bot, alex, ALEX, ALEX_WORDS)
    assert saved.text.startswith("✍️ Your answer is saved.") and saved.chat_id == dm(ALEX)
    for call in bot.api.calls[mark:]:
        if call.chat_id in (GROUP.id, dm(SAM)):
            said = json.dumps(call.params, ensure_ascii=False, default=str)
            assert "made tea" not in said, call

    mark = len(bot.api.calls)
    await write(bot, sam, SAM, SAM_WORDS)
    [reveal] = await bot.api.replies(1, chat_id=GROUP.id, after=mark)
    assert reveal.protected
    if rule == "together":
        assert f"Alex: “{ALEX_WORDS}”" in reveal.text and f"Sam: “{SAM_WORDS}”" in reveal.text
    else:
        assert "stay with each of you" in reveal.text
        assert "made tea" not in reveal.text and "Sunday" not in reveal.text


async def test_in_the_group_no_reply_box_opens_where_the_partner_would_read_it(
    bot: Running,
) -> None:
    await couple(bot)
    shown = await bot.say("/today", user=ALEX)
    assert shown.text.startswith("❓ Today's question:")
    [action] = [b["callback_data"] for b in shown.buttons if b["text"] == "✍️ Answer"]
    mark = len(bot.api.calls)
    toast = await bot.tap(shown.result["message_id"], action, user=ALEX)
    assert "open your private chat" in toast.params["text"]
    sent = [c for c in bot.api.calls[mark:] if c.method == "sendMessage"]
    assert not any("force_reply" in (c.params.get("reply_markup") or {}) for c in sent)
