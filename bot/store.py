"""The engine (SQLite by default, PostgreSQL by URL), the unit of work, and the tables of
bot/tables.py, re-exported."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.crypto import Keyring, attach
from bot.plain import Plain as Plain  # re-exported: the delivery engine's batch writes
from bot.tables import (
    CheckinAnswer,
    ContentHistory,
    DataKey,
    Delivery,
    Housekeeping,
    Instance,
    Mark,
    Member,
    NoteOffer,
    Once,
    PairCode,
    PathState,
    Promise,
    PromiseStatus,
    QuestionAnswer,
    Schedule,
    SealKey,
    Space,
    promise_text,
    set_promise_text,
)

# The tables live in bot/tables.py; the rooms import them from here, with the unit of work.
__all__ = [
    "CheckinAnswer",
    "ContentHistory",
    "DataKey",
    "Delivery",
    "Housekeeping",
    "Instance",
    "Mark",
    "Member",
    "NoteOffer",
    "Once",
    "PairCode",
    "PathState",
    "Promise",
    "PromiseStatus",
    "QuestionAnswer",
    "Schedule",
    "SealKey",
    "Space",
    "promise_text",
    "set_promise_text",
]


def upsert_insert(dialect: str) -> Any:
    """The dialect's INSERT with ON CONFLICT clauses (SQLite and PostgreSQL spell them alike)."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


async def insert_new(session: AsyncSession, model: Any, keys: list[str], **values: Any) -> bool:
    """Inserts a row unless one with the same `keys` exists (another request may have just made
    it): the first one wins, and a race never fails. True only for the caller that inserted."""
    return bool(await insert_all_new(session, model, keys, [values]))


async def insert_all_new(
    session: AsyncSession, model: Any, keys: list[str], rows: list[dict[str, Any]]
) -> int:
    """`insert_new` for many rows in one statement (give them in a steady order, so two
    writers never wait on each other crosswise); how many were inserted."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    statement = (
        upsert_insert(dialect)(model.__table__)
        .values(rows)
        .on_conflict_do_nothing(index_elements=keys)
    )
    conn = await session.connection()
    result = await conn.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


async def read_mark(store: Store, name: str) -> str | None:
    async with store.read() as session:
        found = await session.get(Mark, name)
        return None if found is None else found.value


async def write_mark(store: Store, name: str, value: str, at: datetime) -> None:
    async with store.unit() as session:
        await session.merge(Mark(name=name, value=value, at=at))


async def claim_housekeeping(session: AsyncSession, day: date, at: datetime) -> bool:
    """Claims the day's housekeeping pass; True only for the one caller that claimed it first."""
    return await insert_new(session, Housekeeping, ["day"], day=day, at=at)


async def once(session: AsyncSession, space_id: int, key: str, at: datetime) -> bool:
    """Marks `key` as done for the space; True only for the one caller that marked it first."""
    return await insert_new(session, Once, ["space_id", "key"], space_id=space_id, key=key, at=at)


async def done(session: AsyncSession, space_id: int, key: str) -> bool:
    found = await session.exec(select(Once.id).where(Once.space_id == space_id, Once.key == key))
    return found.first() is not None


async def lock_space(session: AsyncSession, space: Space) -> None:
    """Two partners answering at the same moment: the second waits here, then sees the first's
    answer. Taken before anything is written (a write's foreign-key check shares the space's
    row, and two sharers both waiting to lock it would deadlock). SQLite already runs one writer
    at a time (the store's write lock); PostgreSQL needs the row lock."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.exec(select(Space.id).where(col(Space.id) == space.id).with_for_update())


async def day_row(
    session: AsyncSession, model: Any, space: Space, member: Member, day: date
) -> Any:
    """A member's one row of the day in a table keyed by (space, member, local date): their
    check-in answer, or their answer to today's question; None before they gave one."""
    found = await session.exec(
        select(model).where(
            model.space_id == space.id, model.member_id == member.id, model.local_date == day
        )
    )
    return found.first()


async def erase_space(session: AsyncSession, space: Space) -> None:
    """Deletes every row about a space, children first, in the caller's transaction."""
    for model in (
        NoteOffer,
        CheckinAnswer,
        QuestionAnswer,
        ContentHistory,
        Delivery,
        Promise,
        Schedule,
        Member,
        PairCode,
        Once,
        PathState,
    ):
        await session.exec(delete(model).where(col(model.space_id) == space.id))
    await session.delete(space)


async def move_space(session: AsyncSession, space: Space, new_chat_id: str) -> None:
    """The chat got a new id (a Telegram group became a supergroup): its space follows it.

    A space already made at the new id in between (someone typed there before the move was
    known) is brand new, and gives way to the one with the couple's settings and history.
    """
    found = await session.exec(
        select(Space).where(Space.platform == space.platform, Space.chat_id == new_chat_id)
    )
    clash = found.first()
    if clash is not None and clash.id != space.id:
        await erase_space(session, clash)
        await session.flush()
    space.chat_id = new_chat_id
    session.add(space)


def async_url(url: str) -> URL:
    """The usual SQLAlchemy URL with the async driver chosen for it."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def sqlite_path(database_url: str) -> Path | None:
    """The database file of a sqlite:/// URL; None for PostgreSQL or an in-memory database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser()


# Every SQLite connection's settings. secure_delete: erased notes are overwritten on disk, not
# just unlinked from the b-tree.
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "foreign_keys=ON",
    "busy_timeout=30000",
    "secure_delete=ON",
)


def create_private(path: Path) -> None:
    """A new database's folder is made 0700 and its file 0600 (SQLite gives its -wal and -shm
    files the database's own mode), whatever the umask: what a couple said is no one else's to
    read on the machine. An existing folder or file keeps the mode its owner gave it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.fchmod(fd, 0o600)
    os.close(fd)


def make_engine(url: str) -> AsyncEngine:
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        if (path := sqlite_path(url)) is not None:
            create_private(path)
        engine = create_async_engine(target, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        return engine
    return create_async_engine(target, pool_pre_ping=True)


async def analyze(connection: AsyncConnection) -> None:
    """Gives SQLite's planner statistics (a whole ANALYZE: a sampled one misjudges a table where
    a burst of schedules shares one due time, and it takes well under a second at a million)."""
    await connection.exec_driver_sql("ANALYZE")
    await connection.commit()


async def has_statistics(connection: AsyncConnection) -> bool:
    """Whether SQLite's planner has statistics for the schedules (the table a claim walks)."""
    found = await connection.exec_driver_sql(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    )
    if not found.scalar_one():
        return False
    rows = await connection.exec_driver_sql("SELECT 1 FROM sqlite_stat1 WHERE tbl = 'schedule'")
    return rows.first() is not None


class Store:
    """The database: one engine, and units of work that commit whole or not at all."""

    def __init__(
        self, engine: AsyncEngine, keyring: Keyring | None = None, *, key_place: str = "apart"
    ) -> None:
        self.engine = engine
        # Where the key is (datakey.KeyPlace), as /privacy tells the couple.
        self.key_place = key_place
        # Notes and promises are sealed with this keyring (bot/crypto.py). Without one, a key that
        # dies with the process: fine for throwaway stores; the app always passes the real one.
        self.keyring = keyring or Keyring.ephemeral()
        attach(engine.dialect, self.keyring)
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer; queueing writers here avoids "database is locked" upgrades.
        self._write_lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def unit(self) -> AsyncIterator[AsyncSession]:
        """A transaction: commits when the block ends, rolls back on any exception."""
        lock = self._write_lock if self.is_sqlite else contextlib.nullcontext()
        async with lock, AsyncSession(self.engine, expire_on_commit=False) as session:
            async with session.begin():
                yield session

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """`unit()` without the ORM session: a Core connection in one transaction, for the
        delivery engine, which writes tens of small transactions a second in a burst."""
        lock = self._write_lock if self.is_sqlite else contextlib.nullcontext()
        async with lock, self.engine.begin() as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only look: it never waits for SQLite's one writer (WAL lets readers through)."""
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            async with session.begin():
                yield session

    async def scrub(self) -> None:
        """After an erase: no old copy of a forgotten member's key (bot/sealing.py) stays in the
        database files, so their words, wherever a copy lingers, open nothing. SQLite overwrites
        deleted rows (secure_delete) and here folds its write-ahead log into the file;
        PostgreSQL rewrites the small key table, leaving its dead row versions behind."""
        if self.is_sqlite:
            async with self._write_lock, self.engine.connect() as conn:
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        async with self.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM FULL sealkey")

    async def analyze(self) -> None:
        """Refreshes SQLite's planner statistics as the tables grow (PostgreSQL's autovacuum
        does this by itself)."""
        if self.is_sqlite:
            async with self._write_lock, self.engine.connect() as conn:
                await analyze(conn)

    async def close(self) -> None:
        await self.engine.dispose()
