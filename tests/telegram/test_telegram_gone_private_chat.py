"""On Telegram: a partner's private chat answers 403 "bot was blocked by the user" to the
check-in; that day the check-in comes to the group for them, and the first tap there tells them,
in the tap's own notice, how to link a chat again (issue 22)."""

from __future__ import annotations

from bot.partners.joining import RELINK
from tests.telegram.fake_api import GROUP
from tests.telegram.harness import Running
from tests.telegram.test_telegram_two_voices import (
    ALEX,
    CHECKIN_DUE,
    SAM,
    couple,
    dm,
    messages,
    private_chats,
)
from tests.telegram.test_telegram_two_voices import bot as bot


async def test_on_telegram_a_403_on_the_private_chat_brings_the_check_in_to_the_group(
    bot: Running,
) -> None:
    await couple(bot)
    await bot.say("/checkin 9pm", user=ALEX)
    bot.api.blocked.add(dm(SAM))  # Sam blocked Tandem; Telegram says so only on a send
    bot.clock.set(CHECKIN_DUE)
    mark = len(bot.api.calls)
    await bot.tandem.dispatch_due()
    refused = [c for c in bot.api.calls[mark:] if c.chat_id == dm(SAM)]
    assert refused and all(c.error == 403 for c in refused)
    [for_sam] = [
        c
        for c in messages(bot.api.calls[mark:], GROUP.id)
        if c.text.startswith("💬 Sam, today's check-in is here for you too")
    ]
    assert (await private_chats(bot))["Sam"] is None

    toast = await bot.tap(for_sam.result["message_id"], for_sam.actions[2], user=SAM)
    assert toast.params["text"].startswith("Thanks, Sam.") and RELINK in toast.params["text"]
    again = await bot.tap(for_sam.result["message_id"], for_sam.actions[3], user=SAM)
    assert RELINK not in again.params["text"]
    assert not [c for c in messages(bot.api.calls[mark:], GROUP.id) if RELINK in c.text]
