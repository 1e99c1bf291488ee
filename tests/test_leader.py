"""The leader lock on real PostgreSQL: what counts as losing the lock, and what as failing to lead."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from bot import leader as leader_module
from bot.leader import Leader, plain_dsn
from tests.conftest import _postgres_database

pytestmark = pytest.mark.postgres
RETRY = 0.05


@pytest.fixture
def dsn() -> Iterator[str]:
    for url in _postgres_database():
        found = plain_dsn(url)
        assert found is not None
        yield found


class _Counts:
    def __init__(self) -> None:
        self.led = 0
        self.followed = 0

    async def lead(self) -> None:
        self.led += 1

    async def follow(self) -> None:
        self.followed += 1


async def _until(check: Any, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


class _BrokenOnce(asyncpg.Connection):  # type: ignore[misc]
    """A real connection whose first keep-alive fails the way a killed backend failed in CI."""

    broke = False

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        if query == "SELECT 1" and not _BrokenOnce.broke:
            _BrokenOnce.broke = True
            raise asyncpg.InternalClientError("waiter is not done while handling critical error")
        return await super().fetchval(query, *args, **kwargs)


async def test_a_lock_connection_that_breaks_oddly_is_a_lost_lock_not_an_error(
    dsn: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_BrokenOnce, "broke", False)
    monkeypatch.setattr(
        leader_module.asyncpg,
        "connect",
        functools.partial(asyncpg.connect, connection_class=_BrokenOnce),
    )
    counts = _Counts()
    leader = Leader(dsn, "tandem test lock", counts.lead, counts.follow, retry=RETRY)
    caplog.set_level(logging.INFO, logger="bot.leader")
    leader.start()
    try:
        await _until(lambda: counts.led == 2)  # it let go, and took the lock again
    finally:
        await leader.stop()

    assert counts.followed >= 1
    lost = [r for r in caplog.records if "lost the database connection" in r.getMessage()]
    assert [r.levelno for r in lost] == [logging.WARNING]
    assert "InternalClientError" in lost[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.logs_errors("the test's lead fails once on purpose")
async def test_a_lead_that_fails_is_an_error_and_is_tried_again(
    dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    tries: list[int] = []

    async def lead() -> None:  # polling Telegram, say, with no way out to it
        tries.append(1)
        if len(tries) == 1:
            raise ConnectionRefusedError("no network")

    counts = _Counts()
    leader = Leader(dsn, "tandem test lock", lead, counts.follow, retry=RETRY)
    leader.start()
    try:
        await _until(lambda: len(tries) == 2 and leader.leading)
        followed_while_running = counts.followed
    finally:
        await leader.stop()

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    # An OSError, like the lock's lost connection, but lead's: an error, not a lost lock.
    assert errors == ["tandem test lock: failed with ConnectionRefusedError; trying again"]
    assert followed_while_running == 1  # it let go of what it had started, once
