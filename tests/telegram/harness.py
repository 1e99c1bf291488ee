"""Runs the real app (core, SQLite file, Telegram adapter) against the fake Bot API, for the tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import select

from adapters.telegram_adapter import TelegramAdapter
from adapters.telegram_limits import Limits
from bot.app import App
from bot.content import Library
from bot.service import Tandem
from bot.settings import Settings
from bot.store import Space
from tests.fakes import FixedClock
from tests.telegram.fake_api import ALICE, GROUP, TOKEN, Call, Chat, FakeBotApi, User

# Telegram's limits are tested on their own; elsewhere they would only slow the conversation.
FAST: dict[str, Any] = {"limits": Limits.off(), "request_timeout": 2.0, "poll_timeout": 1.0}


def settings_for(api: FakeBotApi, db: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "telegram_base_url": api.base_url,
        "telegram_webhook_url": None,
        "discord_bot_token": None,
        "database_url": f"sqlite:///{db}",
        # Beside the test's files whatever the database: on PostgreSQL the default is data/ in
        # the working directory, which a test must not leave behind.
        "tandem_key_file": db.parent / "tandem.key",
        "tick_seconds": 60,  # the tests call dispatch_due themselves
        **overrides,
    }
    return Settings(_env_file=None, **values)


@dataclass
class Running:
    """One running Tandem on Telegram, and the fake Telegram it talks to."""

    app: App
    tandem: Tandem
    adapter: TelegramAdapter
    api: FakeBotApi
    clock: FixedClock

    async def say(
        self, text: str, *, user: User = ALICE, chat: Chat = GROUP, reply_to: int | None = None
    ) -> Call:
        """A member writes in the chat; returns the one message Tandem answers with."""
        mark = len(self.api.calls)
        self.api.say(text, user=user, chat=chat, reply_to=reply_to)
        [reply] = await self.api.replies(1, chat_id=chat.id, after=mark)
        return reply

    async def tap(self, message_id: int, action: str, *, user: User = ALICE) -> Call:
        """A member taps a button; returns Tandem's answer to the tap (the little toast)."""
        query_id = self.api.tap(message_id, action, user=user)

        def answered() -> list[Call]:
            return [
                c
                for c in self.api.calls
                if c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query_id
            ]

        found: list[Call] = await self.api.wait_for(answered)
        return found[0]

    async def space(self, chat: Chat = GROUP) -> Space | None:
        """What the core has stored about the chat (None once forgotten or never seen)."""
        async with self.tandem.store.unit() as session:
            found = await session.exec(
                select(Space).where(Space.platform == "telegram", Space.chat_id == str(chat.id))
            )
            return found.first()

    async def is_off(self, chat: Chat = GROUP) -> bool:
        """Whether the core has switched the chat off (bot removed or blocked, chat gone)."""
        space = await self.space(chat)
        return space is not None and not space.active

    async def stop(self) -> None:
        await self.app.stop()


async def until(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """For effects with no message to wait for (a space switched off): re-check every 20 ms."""
    for _ in range(int(within / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"still not true after {within} s")


async def start_app(
    api: FakeBotApi,
    db: Path,
    library: Library,
    clock: FixedClock,
    *,
    settings: Settings | None = None,
    **tuning: Any,
) -> Running:
    adapter = TelegramAdapter(settings or settings_for(api, db), **{**FAST, **tuning})
    app = App(adapter.settings, [adapter], clock=clock, library=library)
    tandem = await app.start()
    return Running(app, tandem, adapter, api, clock)
