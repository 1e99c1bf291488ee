"""Telegram and Discord in one process: one core, one scheduler tick, each couple on its own platform."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest
import yarl
from pydantic import SecretStr

from adapters.discord_adapter import DiscordAdapter
from adapters.telegram_adapter import TelegramAdapter
from bot.app import App
from bot.content import Library
from bot.settings import Settings
from tests.discord.discord_fakes import ALICE as DISCORD_ALICE
from tests.discord.discord_fakes import HOME as DISCORD_HOME
from tests.discord.discord_fakes import FakeDiscord
from tests.discord.harness import TOKEN as DISCORD_TOKEN
from tests.discord.harness import Couple
from tests.fakes import FixedClock
from tests.telegram.fake_api import GROUP, TOKEN, FakeBotApi
from tests.telegram.harness import FAST, Running


async def test_both_platforms_in_one_app(
    tmp_path: Path, library: Library, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    telegram_api, discord_fake = FakeBotApi(), FakeDiscord()
    await telegram_api.start()
    await discord_fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", discord_fake.api)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(discord_fake.gateway)
    )
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=SecretStr(TOKEN),
        telegram_base_url=telegram_api.base_url,
        discord_bot_token=SecretStr(DISCORD_TOKEN),
        database_url=f"sqlite:///{tmp_path}/both.db",
        tick_seconds=60,
    )
    telegram = TelegramAdapter(settings, **FAST)
    discord_adapter = DiscordAdapter(settings, guild_ready_timeout=0.01, ready_timeout=5)
    app = App(settings, [telegram, discord_adapter], clock=clock, library=library)
    tandem = await app.start()
    try:
        on_telegram = Running(app, tandem, telegram, telegram_api, clock)
        on_discord = Couple(discord_fake, discord_adapter, tandem, clock, via_gateway=True)
        await on_telegram.say("/start")
        await on_discord.slash(DISCORD_ALICE, "start")
        assert "20:30" in (await on_telegram.say("/remind 20:30")).text
        assert "21:00" in (await on_discord.slash(DISCORD_ALICE, "remind", time="21:00")).public[0]

        clock.set("2026-11-21T20:30:00+00:00")
        await tandem.dispatch_due()
        clock.set("2026-11-21T21:00:00+00:00")
        await tandem.dispatch_due()

        telegram_prompts = [c for c in telegram_api.sent(GROUP.id) if "Today's step" in c.text]
        discord_prompts = [p for p in discord_fake.public(DISCORD_HOME) if "Today's step" in p]
        assert len(telegram_prompts) == 1 and len(discord_prompts) == 1
    finally:
        await app.stop()
        await telegram_api.stop()
        await discord_fake.close()
