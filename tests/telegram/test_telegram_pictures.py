"""Pictures on Telegram: /progress and the weekly look back arrive as photos (sendPhoto), drawn
by the app's chart workers, through the real python-telegram-bot stack."""

from __future__ import annotations

from datetime import date

from tests.telegram.fake_api import BOB, GROUP, Call
from tests.telegram.harness import Running
from tests.test_weekly import PNG, seed_answers

SATURDAY = date(2026, 11, 21)


async def photo_after(bot: Running, mark: int) -> Call:
    def found() -> Call | None:
        photos = [
            c for c in bot.api.of("sendPhoto", chat_id=GROUP.id) if bot.api.calls.index(c) >= mark
        ]
        return photos[0] if photos else None

    # The first chart starts the worker processes (and matplotlib in them): allow for that.
    call: Call = await bot.api.wait_for(found, within=60)
    return call


async def test_progress_and_the_look_back_arrive_as_photos(bot: Running) -> None:
    await bot.say("/start")
    await bot.say("/start", user=BOB)
    await seed_answers(
        bot.tandem,
        {SATURDAY: (4, 5), date(2026, 11, 20): (3, 4)},
        {SATURDAY, date(2026, 11, 20)},
        str(GROUP.id),
    )
    mark = len(bot.api.calls)
    bot.api.say("/progress")
    progress = await photo_after(bot, mark)
    assert progress.params["photo"]["data"].startswith(PNG)
    assert progress.params["photo"]["filename"] == "progress-2026-11-21.png"
    assert progress.params["caption"].startswith("📈 Days you both showed up: 2")
    assert "🖼 Chart: daily check-in scores" in progress.params["caption"]

    bot.clock.set("2026-11-22T19:00:00+00:00")  # Sunday 19:00 in the chat's zone (UTC)
    mark = len(bot.api.calls)
    await bot.tandem.dispatch_due()
    back = await photo_after(bot, mark)
    assert back.params["caption"].startswith("🌿 Your first days, Fri 20 Nov to Sun 22 Nov")
    assert back.protected and back.params["photo"]["data"].startswith(PNG)
