"""Fixtures: the fake Discord, the real adapter logged in to it, and the core on a SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest
import yarl

from bot.content import Library
from bot.migrate import upgrade
from bot.store import Store, make_engine
from tests.discord.discord_fakes import FakeDiscord
from tests.discord.harness import Couple, core, new_adapter
from tests.fakes import FixedClock


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    # The two addresses discord.py would otherwise take from discord.com; nothing else is patched.
    monkeypatch.setattr(discord.http.Route, "BASE", server.api)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(server.gateway)
    )
    yield server
    await server.close()
    # Discord would have refused these: a test that means to cause them takes them first.
    assert server.refused == [], f"the fake Discord refused requests: {server.refused}"


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[Store]:
    store = Store(make_engine(sqlite_url))
    await upgrade(store.engine)
    yield store
    await store.close()


@pytest.fixture
async def couple(
    fake: FakeDiscord, store: Store, clock: FixedClock, library: Library
) -> AsyncIterator[Couple]:
    adapter = new_adapter()
    tandem = core(store, clock, library, adapter)
    await adapter.start(tandem)
    yield Couple(fake, adapter, tandem, clock)
    await adapter.stop()
