"""SQLModel tables, the engine (SQLite by default, PostgreSQL by URL) and the unit of work."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlmodel import Field, SQLModel, col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.crypto import Keyring, Sealed, attach
from bot.plain import Plain as Plain  # re-exported: the delivery engine's batch writes
from bot.sealing import install


def _fk(
    target: str, *, nullable: bool = False, ondelete: str = "CASCADE", index: bool = True
) -> Any:
    """A foreign key column. `index=False` where a unique key or index of the table starts with
    this column: it serves the cascades and lookups, and one index fewer is one write fewer on
    every insert (a delivery row is written a million times on a big evening)."""
    return Field(
        default=None if nullable else ...,
        sa_column=Column(
            Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index
        ),
    )


class Space(SQLModel, table=True):
    """One chat: a Telegram group or DM, a Discord channel or DM, or the console."""

    __table_args__ = (UniqueConstraint("platform", "chat_id", name="uq_space_address"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    timezone: str = Field(max_length=64)
    topics: str = Field(max_length=400)  # comma-separated topic keys
    active: bool = True
    last_topic: str | None = Field(default=None, max_length=40)
    content_cycle: int = 0
    created_at: datetime
    # The chat is one partner's private chat with Tandem (no group): shared things go to every
    # partner's private chat instead.
    direct: bool = False
    reveal: str = Field(default="together", max_length=16)  # together | never | instant
    question_id: str = Field(default="checkin-01", max_length=40)  # the scored question
    apart: bool = False  # the couple lives apart: prompts that need one home are skipped
    # When the bot was removed (active turned off); the space is erased once this is older than
    # INACTIVE_RETENTION_DAYS. None while active.
    deactivated_at: datetime | None = None


class Member(SQLModel, table=True):
    """A person in a space, as the platform names them."""

    __table_args__ = (UniqueConstraint("space_id", "user_id", name="uq_member_user"),)
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id", index=False)  # uq_member_user
    user_id: str = Field(max_length=64)
    display_name: str = Field(max_length=128)
    joined_at: datetime
    partner: bool = False  # ran /start here, or joined through a pairing link
    # This person's own chat with Tandem, on the space's platform; one private chat, one space.
    private_chat: str | None = Field(default=None, max_length=64, index=True)
    # doubting | doubted: it says who broke trust, so it is sealed like a note; never shown.
    side: str | None = Field(
        default=None, sa_column=Column(Sealed("member", "side", "side", "id"), nullable=True)
    )
    side_cycle: int = 0  # the round of this partner's side prompts


class Schedule(SQLModel, table=True):
    """A daily prompt or check-in time of a space, and when it is next due."""

    __table_args__ = (
        UniqueConstraint("space_id", "kind", name="uq_schedule_kind"),
        Index("ix_schedule_due", "next_due_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id", index=False)  # uq_schedule_kind
    kind: str = Field(max_length=16)  # "prompt" | "checkin" | "weekly"
    local_time: str = Field(max_length=5)  # "HH:MM" in the space's timezone
    weekdays: str = Field(max_length=40)  # "mon,tue,..." as CronTrigger reads it
    paused_until: datetime | None = None
    next_due_at: datetime | None = None


class Delivery(SQLModel, table=True):
    """One thing sent (or due to be sent) to a space; (schedule, local date) is unique."""

    __table_args__ = (
        UniqueConstraint("schedule_id", "local_date", "recipient", "kind", name="uq_delivery_key"),
        # A promise's follow-up has no schedule: its own key makes it once a local day at most.
        UniqueConstraint("promise_id", "local_date", name="uq_delivery_promise"),
        Index("ix_delivery_retry", "status", "next_attempt_at"),
        Index("ix_delivery_message", "space_id", "message_ref"),
    )
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id", index=False)  # ix_delivery_message
    schedule_id: int | None = _fk(  # uq_delivery_key
        "schedule.id", nullable=True, ondelete="SET NULL", index=False
    )
    # "prompt" | "side" (a side's prompt) | "checkin" | "weekly" (the look back) | "promise"
    kind: str = Field(max_length=16)
    # 0: the space's own chat; else the member whose private chat this goes to.
    recipient: int = 0
    # How a shared check-in looks: "full" (everyone answers here), "line" (answers are in the
    # private chats) or "mixed" (a line, plus buttons for partners without a private chat).
    variant: str | None = Field(default=None, max_length=8)
    local_date: date
    due_at: datetime
    # claimed (by an instance, not yet handed over) | handing (given to the platform, outcome
    # not yet recorded) | sent | retry | failed | skipped | missed | interrupted
    status: str = Field(max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    content_id: str | None = Field(default=None, max_length=40)
    message_ref: str | None = Field(default=None, max_length=64)
    sent_at: datetime | None = None
    reason: str | None = Field(default=None, max_length=80)
    # The follow-up of this promise (indexed by uq_delivery_promise).
    promise_id: int | None = _fk("promise.id", nullable=True, index=False)
    # How many parts of a split message arrived before a failed send; a retry starts after them.
    parts_sent: int = 0
    # The instance that claimed this row, and until when its claim holds (see Instance).
    claimed_by: str | None = Field(default=None, max_length=36)
    lease_until: datetime | None = None


class Instance(SQLModel, table=True):
    """A running Tandem process; it beats while alive, so others know whose claims are stale."""

    id: str = Field(primary_key=True, max_length=36)  # a uuid4 per process
    started_at: datetime
    beat_at: datetime = Field(index=True)


class CheckinAnswer(SQLModel, table=True):
    """A member's answer to a check-in: one per member per local day; a second tap changes it."""

    __table_args__ = (
        UniqueConstraint("space_id", "member_id", "local_date", name="uq_answer_day"),
    )
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id", index=False)  # uq_answer_day
    member_id: int = _fk("member.id")
    delivery_id: int | None = _fk("delivery.id", nullable=True, ondelete="SET NULL")
    local_date: date
    # Whether this partner took part (a score, or "Skip today"): plain, as the reveal and the
    # streak need it. What they tapped is theirs, sealed: read it through bot/checkins/answers.py
    # score_of and skipped.
    took_part: bool = False
    tap: str | None = Field(
        default=None, sa_column=Column(Sealed("checkinanswer", "tap", "tap"), nullable=True)
    )
    # At most 1000 characters typed; encrypted at rest (bot/crypto.py), so the column is Text.
    note: str | None = Field(
        default=None, sa_column=Column(Sealed("checkinanswer", "note", "note"), nullable=True)
    )
    share_note: bool = False  # the author chose to show the note at the reveal
    # The /reveal rule in force when this answer was first given. A later /reveal that shows more
    # never reaches back to it; one that shows less (never) hides it at once.
    reveal: str = Field(default="together", max_length=16)
    answered_at: datetime
    updated_at: datetime


class PromiseStatus(StrEnum):
    """A promise is open (asked about when due) or closed; how it went is its sealed outcome."""

    OPEN = "open"
    CLOSED = "closed"
    # outcomes
    DONE = "done"
    PARTLY = "partly"
    LET_GO = "let_go"


class Promise(SQLModel, table=True):
    """A small commitment one partner made, asked about on its due day; shared or theirs alone.

    Its words are read and written through `promise_text` and `set_promise_text`; the column
    type encrypts them at rest, as it does notes (bot/crypto.py).
    """

    __table_args__ = (Index("ix_promise_ask", "next_ask_at"),)
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id")
    member_id: int = _fk("member.id")
    # At most 200 characters typed; encrypted at rest (bot/crypto.py), so the column is Text.
    body: str = Field(sa_column=Column(Sealed("promise", "body", "promise"), nullable=False))
    shared: bool = False  # the partner sees it: made in the shared space, or "Shared" tapped
    made_at: datetime
    due_date: date  # a local date in the space's timezone
    status: str = Field(default=PromiseStatus.OPEN, max_length=8)  # open | closed
    # done | partly | let_go once closed: how it went is its author's, sealed like the words.
    outcome: str | None = Field(
        default=None, sa_column=Column(Sealed("promise", "outcome", "outcome"), nullable=True)
    )
    next_ask_at: datetime | None = None  # when the follow-up is next due; None: not asked again
    asks: int = 0  # follow-ups claimed so far
    closed_at: datetime | None = None
    # "Partly", then carried on to a new day: the fresh promise's id (the choice is made once).
    carried_to: int | None = None


class QuestionAnswer(SQLModel, table=True):
    """A partner's words for today's question (bot/questions/): one per member per local day."""

    __table_args__ = (UniqueConstraint("space_id", "member_id", "local_date", name="uq_qa_day"),)
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id", index=False)  # uq_qa_day
    member_id: int = _fk("member.id")
    local_date: date
    question_id: str = Field(max_length=16)
    text: str | None = Field(  # at most 1000 characters, sealed at rest like notes
        default=None, sa_column=Column(Sealed("questionanswer", "text", "question"), nullable=True)
    )
    passed: bool = False  # "Pass on this one": taking part without words
    held: bool = False  # crisis words: kept with their author at the reveal
    reveal: str = Field(default="together", max_length=16)  # the /reveal rule when first given
    asked_at: datetime | None = None  # "Answer" tapped: the next reply brings the words
    answered_at: datetime
    updated_at: datetime


install([Member, CheckinAnswer, Promise, QuestionAnswer])  # Sealed columns sealed in place


def promise_text(promise: Promise) -> str:
    """The promise's words as the person typed them."""
    return promise.body


def set_promise_text(promise: Promise, text: str) -> None:
    promise.body = text


class DataKey(SQLModel, table=True):
    """Proof of the data key: a known value sealed with it, never the key itself.

    At start-up it tells a wrong key from the right one, and a new database from one whose key
    went missing.
    """

    id: int | None = Field(default=None, primary_key=True)
    proof: str = Field(max_length=200)
    sealed_at: datetime


class SealKey(SQLModel, table=True):
    """A member's own data key, wrapped by the master key (bot/sealing.py): it seals their words,
    and goes with them (ON DELETE CASCADE), so forgetting destroys every copy's key."""

    member_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("member.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED"),
            primary_key=True,
        )
    )
    space_id: int = _fk("space.id")
    wrapped: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime


class ContentHistory(SQLModel, table=True):
    """Which prompts a space has seen in its current round, so none repeats too soon."""

    __table_args__ = (
        UniqueConstraint("space_id", "member_id", "prompt_id", "cycle", name="uq_history_prompt"),
    )
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id", index=False)  # uq_history_prompt
    member_id: int = 0  # 0: the shared rotation; else that partner's side prompts
    prompt_id: str = Field(max_length=40)
    cycle: int
    shown_at: datetime


class PairCode(SQLModel, table=True):
    """A link that joins a private chat to a space; only a hash of the code is kept."""

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    space_id: int = _fk("space.id")
    kind: str = Field(max_length=8)  # "group": any member of the group | "invite": once, a partner
    inviter_id: int | None = None  # the member who made an invite
    expires_at: datetime


class Once(SQLModel, table=True):
    """Things that happen at most once a space, such as a day's reveal or a partner's nudge."""

    __table_args__ = (UniqueConstraint("space_id", "key", name="uq_once_key"),)
    id: int | None = Field(default=None, primary_key=True)
    space_id: int = _fk("space.id", index=False)  # uq_once_key
    key: str = Field(max_length=64)  # "reveal:2026-11-21", "nudge:2026-11-21:7"
    at: datetime


class Housekeeping(SQLModel, table=True):
    """The daily housekeeping pass: one row a day, claimed by the one process that runs it."""

    day: date = Field(primary_key=True)  # the UTC date of the pass
    at: datetime


def upsert_insert(dialect: str) -> Any:
    """The dialect's INSERT with ON CONFLICT clauses (SQLite and PostgreSQL spell them alike)."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


async def insert_new(session: AsyncSession, model: Any, keys: list[str], **values: Any) -> bool:
    """Inserts a row unless one with the same `keys` exists (another request may have just made
    it): the first one wins, and a race never fails. True only for the caller that inserted."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    statement = (
        upsert_insert(dialect)(model.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=keys)
    )
    conn = await session.connection()
    result = await conn.execute(statement)
    return bool(getattr(result, "rowcount", 0))


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
        CheckinAnswer,
        QuestionAnswer,
        ContentHistory,
        Delivery,
        Promise,
        Schedule,
        Member,
        PairCode,
        Once,
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
