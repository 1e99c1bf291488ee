"""Fixtures: the fake Bot API server, and the real app (core, SQLite file, Telegram adapter) pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.content import Library
from tests.fakes import FixedClock
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.harness import Running, start_app


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "over_telegram_limits(why): the test sends over Telegram's limits on purpose (without it, "
        "a call the fake Bot API refuses as over a limit fails the test)",
    )


@pytest.fixture
async def api(request: pytest.FixtureRequest) -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()
    # Whatever a test does, Tandem's own output stays within Telegram's limits; only a test of
    # the limits themselves (which sends over them on purpose) may see Telegram refuse.
    over = [(c.method, c.refusal) for c in server.over_limits()]
    if over and request.node.get_closest_marker("over_telegram_limits") is None:
        pytest.fail(f"Telegram refused what was sent, as over its limits: {over}")


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
