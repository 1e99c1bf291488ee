"""One leader among instances on PostgreSQL: whoever holds a session advisory lock leads.

The lock lives on a dedicated connection: when the leader's process dies, or its connection
drops, PostgreSQL frees the lock and another instance takes it at its next try.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
# What the lock's connection raises when the database or the way to it is gone.
LOST = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, from a name."""
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


def plain_dsn(database_url: str) -> str | None:
    """The asyncpg DSN of a PostgreSQL URL; None for any other database."""
    url = make_url(database_url)
    if url.get_backend_name() not in ("postgresql", "postgres"):
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class _LeadFailed(Exception):
    """`lead` itself failed, as opposed to the lock's connection."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Leader:
    """Runs `lead` while this instance holds the lock `name`, and `follow` when it loses it."""

    def __init__(
        self,
        dsn: str,
        name: str,
        lead: Callable[[], Awaitable[None]],
        follow: Callable[[], Awaitable[None]],
        retry: float = RETRY_SECONDS,
    ) -> None:
        self.dsn = dsn
        self.key = lock_key(name)
        self.name = name
        self._lead = lead
        self._follow = follow
        self.retry = retry
        self.leading = False
        self.tries = 0  # attempts to take the lock, for tests and logs
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"leader:{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=self.retry + 5)
                self.tries += 1
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
                    await self._hold(conn)
            except _LeadFailed as failed:  # say, no network: let go, and try again
                log.error("%s: failed with %s; trying again", self.name, failed.kind)
            except LOST as err:
                # The lock's own connection is gone, and the lock with it. A backend killed
                # mid-query can surface as asyncpg's InternalClientError, not only as an
                # InterfaceError: none of them is this instance's fault.
                log.warning("%s: lost the database connection (%s)", self.name, type(err).__name__)
            except Exception as err:  # not the network: say, a DSN asyncpg cannot read
                log.error("%s: could not take the lock (%s)", self.name, type(err).__name__)
            finally:
                if self.leading:
                    self.leading = False
                    log.info("%s: no longer leading", self.name)
                    await asyncio.shield(self._follow())
                if conn is not None:
                    conn.terminate()  # frees the lock at once, if we held it
            await asyncio.sleep(self.retry)

    async def _hold(self, conn: asyncpg.Connection) -> None:
        self.leading = True
        log.info("%s: leading", self.name)
        try:
            await self._lead()
        except Exception as err:
            raise _LeadFailed(type(err).__name__) from err
        while True:  # a dead connection means the lock is gone: another may lead now
            await asyncio.sleep(self.retry)
            await conn.fetchval("SELECT 1", timeout=self.retry + 5)
