"""Several instances on one PostgreSQL database: one polls Telegram, and another takes over when
it dies; in webhook mode every instance takes updates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.content import Library
from bot.leader import lock_key
from tests.conftest import _postgres_database
from tests.fakes import FixedClock
from tests.telegram.fake_api import DM, FakeBotApi
from tests.telegram.harness import Running, settings_for, start_app, until

pytestmark = pytest.mark.postgres
RETRY = 0.2  # how often a waiting instance tries the lock (5 s in production)


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _postgres_database()


async def instance(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock, url: str
) -> Running:
    settings = settings_for(api, db, database_url=url)
    return await start_app(api, db, library, clock, settings=settings, leader_retry=RETRY)


async def test_only_one_instance_polls_and_another_takes_over_when_it_dies(
    api: FakeBotApi, tmp_path: Path, library: Library, clock: FixedClock, pg_url: str
) -> None:
    api.one_poller = True
    first = await instance(api, tmp_path / "a.db", library, clock, pg_url)
    await until(lambda: _true(first.adapter.polling))
    second = await instance(api, tmp_path / "b.db", library, clock, pg_url)
    try:
        await until(lambda: _true(_tries(second) >= 3))  # it tried the lock, and waits
        assert first.adapter.polling and not second.adapter.polling
        reply = await first.say("/help", chat=DM)
        assert reply.error is None
        assert [c for c in api.calls if c.error == 409] == []  # Telegram saw one poller

        # The poller dies: its connection to PostgreSQL closes, and with it the lock.
        await _kill_connections_holding(pg_url, "tandem telegram polling 7000001")
        await until(lambda: _true(second.adapter.polling and not first.adapter.polling))
        mark = len(api.calls)  # the first has stopped polling, its last getUpdates done
        answered = await second.say("/privacy", chat=DM)
        await api.wait_for(
            lambda: len([c for c in api.calls[mark:] if c.method == "getUpdates"]) > 3
        )
        after = api.calls[mark:]
    finally:
        await second.stop()
        await first.stop()

    assert answered.error is None
    assert len(api.sent(DM.id)) == 2  # each command answered once, not once per instance
    assert [c for c in after if c.error == 409] == []
    assert not first.adapter.polling


async def test_a_stopped_poller_hands_over_at_once(
    api: FakeBotApi, tmp_path: Path, library: Library, clock: FixedClock, pg_url: str
) -> None:
    first = await instance(api, tmp_path / "a.db", library, clock, pg_url)
    await until(lambda: _true(first.adapter.polling))
    second = await instance(api, tmp_path / "b.db", library, clock, pg_url)
    try:
        await first.stop()
        await until(lambda: _true(second.adapter.polling), within=3.0)
        reply = await second.say("/help", chat=DM)
    finally:
        await second.stop()

    assert reply.error is None


def _tries(running: Running) -> int:
    leader = running.adapter._leader
    return leader.tries if leader is not None else 0


async def _true(value: bool) -> bool:
    return value


async def _kill_connections_holding(url: str, name: str) -> None:
    """As if the poller's process died: PostgreSQL closes its session and frees its locks."""
    key = lock_key(name)
    conn = await asyncpg.connect(url)
    try:
        killed = await conn.fetchval(
            """
            SELECT count(pg_terminate_backend(pid)) FROM pg_locks
            WHERE locktype = 'advisory' AND granted
              AND ((classid::bigint << 32) | objid::bigint) = ($1::bigint & x'ffffffffffffffff'::bigint)
            """,
            key,
        )
    finally:
        await conn.close()
    assert killed == 1


async def test_with_a_webhook_every_instance_takes_updates_and_none_polls(
    api: FakeBotApi, tmp_path: Path, library: Library, clock: FixedClock, pg_url: str
) -> None:
    import aiohttp

    from tests.telegram.test_telegram_webhook import SECRET, free_port

    hooks: list[tuple[Running, str]] = []
    for name in ("a", "b"):
        port = free_port()
        url = f"http://127.0.0.1:{port}/telegram/hook"
        settings = settings_for(
            api,
            tmp_path / f"{name}.db",
            database_url=pg_url,
            telegram_webhook_url=url,
            telegram_webhook_secret=SECRET,
            telegram_webhook_listen="127.0.0.1",
            telegram_webhook_port=port,
        )
        running = await start_app(api, tmp_path / f"{name}.db", library, clock, settings=settings)
        hooks.append((running, url))
    try:
        async with aiohttp.ClientSession() as session:
            for text, (_, url) in zip(("/help", "/privacy"), hooks, strict=True):
                update = api.message_update(text, chat=DM)
                headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
                async with session.post(url, json=update, headers=headers) as response:
                    assert response.status == 200
        replies = await api.replies(2, chat_id=DM.id)
    finally:
        for running, _ in reversed(hooks):
            await running.stop()

    assert len(replies) == 2  # one instance answered each
    assert not any(r.adapter.polling for r, _ in hooks)
    assert api.of("getUpdates") == []
