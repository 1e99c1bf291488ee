"""/repair on Telegram: the invitation in each private chat, each answer written in a reply box
(ForceReply) there, nothing of one partner's words in the group or the other's chat before both
finished, then both shown together in the group."""

from __future__ import annotations

import json

from tests.telegram.fake_api import GROUP, Call, User, private_chat
from tests.telegram.harness import Running
from tests.telegram.test_telegram_two_voices import ALEX, SAM, bot, couple, dm

ALEX_SAYS = ("Shut out of the plan", "To be asked first", "I went quiet for hours")
SAM_SAYS = ("Rushed and judged", "A little patience", "I decided without asking")

__all__ = ["bot"]  # the couple's running bot (Alex, Sam and Robin in the group)


def action(message: Call, label: str) -> str:
    [found] = [b["callback_data"] for b in message.buttons if b["text"] == label]
    return str(found)


async def tap(bot: Running, message: Call, label: str, user: User) -> Call:
    """Taps a button in a private chat; returns the message Tandem sends there for it."""
    mark = len(bot.api.calls)
    await bot.tap(message.result["message_id"], action(message, label), user=user)
    [sent] = await bot.api.replies(1, chat_id=dm(user), after=mark)
    return sent


async def write_all(bot: Running, step: Call, user: User, says: tuple[str, ...]) -> None:
    for words in says:
        ask = await tap(bot, step, "✍️ Write", user)
        assert ask.params["reply_markup"]["force_reply"] is True and ask.protected
        chat = private_chat(user)
        step = await bot.say(words, user=user, chat=chat, reply_to=ask.result["message_id"])


async def test_answers_are_written_in_reply_boxes_and_shown_together(bot: Running) -> None:
    await couple(bot)
    mark = len(bot.api.calls)
    await bot.say("/repair", user=ALEX)
    [alex_invite] = await bot.api.replies(1, chat_id=dm(ALEX), after=mark)
    [sam_invite] = await bot.api.replies(1, chat_id=dm(SAM), after=mark)
    assert "Alex invites you to a talk after a hard moment" in sam_invite.text
    written = len(bot.api.calls)
    await write_all(bot, await tap(bot, alex_invite, "Let's start", ALEX), ALEX, ALEX_SAYS)
    for call in bot.api.calls[written:]:
        if call.chat_id in (GROUP.id, dm(SAM)):
            said = json.dumps(call.params, ensure_ascii=False, default=str)
            assert not any(words in said for words in ALEX_SAYS), call
    mark = len(bot.api.calls)
    await write_all(bot, await tap(bot, sam_invite, "Let's start", SAM), SAM, SAM_SAYS)
    [reveal] = await bot.api.replies(1, chat_id=GROUP.id, after=mark)
    assert reveal.protected
    for words in (*ALEX_SAYS, *SAM_SAYS):
        assert f"“{words}”" in reveal.text
    assert any(b["text"] == "Ask before I assume" for b in reveal.buttons)
