"""Webhook mode: Telegram is told where to call, and only calls carrying the secret are believed."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.content import Library
from tests.fakes import FixedClock
from tests.telegram.fake_api import GROUP, FakeBotApi
from tests.telegram.harness import Running, settings_for, start_app

SECRET = "a-webhook-secret_0123456789"


@dataclass
class Hooked:
    bot: Running
    url: str

    async def post(self, update: Any, secret: str | None = SECRET) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, json=update, headers=headers) as response,
        ):
            return response.status


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def hooked(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> AsyncIterator[Hooked]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = settings_for(
        api,
        db,
        telegram_webhook_url=url,
        telegram_webhook_secret=SECRET,
        telegram_webhook_listen="127.0.0.1",
        telegram_webhook_port=port,
    )
    bot = await start_app(api, db, library, clock, settings=settings)
    yield Hooked(bot, url)
    await bot.stop()


async def test_telegram_is_told_the_url_and_the_secret(hooked: Hooked) -> None:
    api = hooked.bot.api
    [hook] = api.of("setWebhook")

    assert hook.params["url"] == hooked.url
    assert hook.params["secret_token"] == SECRET
    assert set(hook.params["allowed_updates"]) == {"message", "callback_query", "my_chat_member"}
    assert api.of("getUpdates") == []


async def test_an_update_with_the_secret_is_answered(hooked: Hooked) -> None:
    api = hooked.bot.api

    assert await hooked.post(api.message_update("/schedule")) == 200

    [reply] = await api.replies(1, chat_id=GROUP.id)
    assert "Your rhythm" in reply.text


async def test_an_update_without_the_right_secret_is_refused(hooked: Hooked) -> None:
    api = hooked.bot.api

    assert await hooked.post(api.message_update("/forget"), secret="guess") == 403
    assert await hooked.post(api.message_update("/forget"), secret=None) == 403
    assert await hooked.post(api.message_update("/schedule")) == 200

    [reply] = await api.replies(1, chat_id=GROUP.id)
    assert "Your rhythm" in reply.text  # the forged /forget never ran


async def test_junk_is_acknowledged_and_dropped(hooked: Hooked) -> None:
    api = hooked.bot.api

    assert await hooked.post({"update_id": 9, "message": "not a message"}) == 200
    assert await hooked.post(api.message_update("/schedule")) == 200

    [reply] = await api.replies(1, chat_id=GROUP.id)
    assert "Your rhythm" in reply.text
