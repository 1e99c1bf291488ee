"""A flood of /tip in one group: the flooder gets ten tips and one "slow down", and every other
couple's scheduled prompt still goes out at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.telegram_limits import Limits
from bot.content import Library
from bot.flood import SLOW_DOWN
from bot.messages import Address
from tests.fakes import FixedClock, said
from tests.telegram.fake_api import BOB, GROUP, Call, FakeBotApi
from tests.telegram.harness import start_app

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

# Telegram's limits, with the per-chat and per-group windows ten times shorter to keep it quick.
QUICK = Limits(overall=(30, 1.0), per_group=(20, 6.0), per_chat=(3, 0.3))
COUPLES = 30


async def test_a_flood_of_tip_does_not_hold_up_other_couples_prompts(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    bot = await start_app(api, db, library, clock, limits=QUICK)
    others = [Address("telegram", str(-2000 - n)) for n in range(COUPLES)]
    try:
        for chat in others:  # each couple's prompt is due at 12:05
            await bot.tandem.handle(said(("7", "Sam"), "/start", to=chat))
            await bot.tandem.handle(said(("7", "Sam"), "/remind 12:05", to=chat))
        await bot.say("/start")
        clock.set("2026-11-21T12:05:00+00:00")
        mark = len(api.calls)

        for _ in range(60):
            api.say("/tip")
        report = await bot.tandem.dispatch_due()
        prompts = [c for chat in others for c in api.sent(int(chat.chat_id))]

        def in_group() -> list[Call]:
            return [c for c in api.sent(GROUP.id) if api.calls.index(c) >= mark]

        api.say("/schedule", user=BOB)  # the group's updates are handled in order: after Alice's
        await api.wait_for(lambda: any("Daily prompt" in c.text for c in in_group()), 10.0)
    finally:
        await bot.stop()

    # How soon they all went out (about 1.1 s here: 30 a second overall) is for make bench to
    # measure: a bound on time here would fail on a busy machine, not on a slow Tandem.
    assert report.sent == COUPLES and len(prompts) == COUPLES
    assert [c for c in api.calls[mark:] if c.error is not None] == []
    *flooder, last = in_group()
    assert len(flooder) == 11
    assert all("🌱" in c.text for c in flooder[:10])
    assert flooder[10].text == SLOW_DOWN
    assert "Daily prompt" in last.text  # Bob, in the same group, is answered as usual


async def test_tapping_too_fast_gets_the_slow_down_in_the_taps_own_notice(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    bot = await start_app(api, db, library, clock)
    try:
        await bot.say("/start")
        checkin = await bot.say("/checkin")
        clock.advance(minutes=1)  # a fresh minute for the taps alone
        mark = len(api.calls)
        toasts = [
            (await bot.tap(checkin.result["message_id"], checkin.actions[n % 5])).params.get("text")
            for n in range(12)
        ]
    finally:
        await bot.stop()

    assert all(t and t.startswith("Thanks, Alice.") for t in toasts[:10])
    assert toasts[10] == SLOW_DOWN  # only the one who tapped sees it
    assert toasts[11] is None  # the tap is acknowledged, with nothing said
    assert [c for c in api.sent(GROUP.id) if api.calls.index(c) >= mark] == []
