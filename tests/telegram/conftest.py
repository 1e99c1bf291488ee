"""Fixtures: the fake Bot API server, and the real app (core, SQLite file, Telegram adapter) pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.content import Library
from tests.fakes import FixedClock
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.harness import Running, start_app


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "tandem.db"


@pytest.fixture
async def bot(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> AsyncIterator[Running]:
    running = await start_app(api, db, library, clock)
    yield running
    await running.stop()
