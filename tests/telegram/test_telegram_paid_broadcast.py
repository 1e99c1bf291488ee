"""Paid broadcasts (TELEGRAM_PAID_BROADCAST): an operator's choice, off by default. When on, the
scheduled sends (and only they) go out with allow_paid_broadcast, through the real
python-telegram-bot stack to the fake Bot API, and the bot's overall rate is 1,000 a second."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.telegram_adapter import TelegramAdapter
from bot.content import Library
from tests.fakes import FixedClock
from tests.telegram.fake_api import Call, FakeBotApi
from tests.telegram.harness import FAST, settings_for, start_app
from tests.telegram.test_telegram_two_voices import ALEX, CHECKIN_DUE, GROUP, SAM, couple, dm


def paid(call: Call) -> bool:
    return call.params.get("allow_paid_broadcast") in (True, "true", "True")


@pytest.mark.parametrize("setting", [True, False])
async def test_only_scheduled_sends_are_paid_broadcasts_and_only_when_the_operator_says_so(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock, setting: bool
) -> None:
    api.members |= {(GROUP.id, ALEX.id), (GROUP.id, SAM.id)}
    settings = settings_for(api, db, telegram_paid_broadcast=setting)
    bot = await start_app(api, db, library, clock, settings=settings)
    try:
        await couple(bot)
        reply = await bot.say("/checkin 9pm", user=ALEX)
        bot.clock.set(CHECKIN_DUE)
        mark = len(api.calls)
        await bot.tandem.dispatch_due()
        scheduled = [c for c in api.calls[mark:] if c.method.startswith("send")]
        assert {c.chat_id for c in scheduled} == {dm(ALEX), dm(SAM)}
        # Replies someone is waiting for are never paid for, whatever the setting.
        answer = await bot.say("/schedule", user=ALEX)
    finally:
        await bot.stop()
    assert all(paid(c) is setting for c in scheduled)
    assert not paid(reply) and not paid(answer)
    assert not any(paid(c) for c in api.calls[:mark] if c.method.startswith("send"))


def test_paid_broadcasts_raise_the_overall_rate_to_a_thousand_a_second(
    api: FakeBotApi, db: Path
) -> None:
    tuning = {k: v for k, v in FAST.items() if k != "limits"}
    off = TelegramAdapter(settings_for(api, db), **tuning)
    on = TelegramAdapter(settings_for(api, db, telegram_paid_broadcast=True), **tuning)
    assert off.limits.overall == (30, 1.0) and on.limits.overall == (1000, 1.0)
    assert on.limits.per_group == off.limits.per_group == (20, 60.0)
