"""The daily housekeeping pass: erases notes and closed promises older than the note period,
/repair talks left unfinished (bot/repair/state.py), and spaces whose bot was removed longer ago
than the inactive period; claimed to run once a day."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.ports import Clock
from bot.repair.state import sweep as sweep_talks
from bot.store import (
    CheckinAnswer,
    Delivery,
    NoteOffer,
    Promise,
    PromiseStatus,
    QuestionAnswer,
    Space,
    Store,
    claim_housekeeping,
    erase_space,
)

log = logging.getLogger(__name__)
OFFER_WAITS = timedelta(days=1)


@dataclass(frozen=True)
class Retention:
    """How long things are kept; /privacy states both (NOTE_ and INACTIVE_RETENTION_DAYS)."""

    note_days: int = 365
    inactive_days: int = 90


@dataclass(frozen=True)
class Swept:
    """What one pass erased: counts only, never contents."""

    notes: int = 0
    promises: int = 0
    spaces: int = 0

    @property
    def erased(self) -> bool:
        return bool(self.notes or self.promises or self.spaces)


async def sweep(session: AsyncSession, now: datetime, retention: Retention) -> Swept:
    """Erases, in the caller's transaction, what is past its retention period at `now`."""
    conn = await session.connection()
    old = now - timedelta(days=retention.note_days)
    # A note's age counts from when its answer was last written, so a late note keeps its year.
    notes = await conn.execute(
        update(CheckinAnswer)
        .where(
            col(CheckinAnswer.note).is_not(None),
            col(CheckinAnswer.updated_at) < old,
        )
        .values(note=None, share_note=False)
    )
    # So are the words of an answer to today's question (bot/questions/).
    words = await conn.execute(
        update(QuestionAnswer)
        .where(col(QuestionAnswer.text).is_not(None), col(QuestionAnswer.updated_at) < old)
        .values(text=None)
    )
    # Words offered as a note and never chosen for (bot/talk/offer.py) wait a day at most.
    offers = await conn.execute(
        delete(NoteOffer).where(col(NoteOffer.created_at) < now - OFFER_WAITS)
    )
    # A promise's words are free text too: once it is closed (kept, partly, let go) and that is
    # older than the note period, it goes, with its follow-ups. Open ones stay in /promises.
    closed = select(Promise.id).where(
        col(Promise.status) != PromiseStatus.OPEN,
        col(Promise.closed_at).is_not(None),
        col(Promise.closed_at) < old,
    )
    stale = list((await session.exec(closed)).all())
    if stale:
        await session.exec(delete(Delivery).where(col(Delivery.promise_id).in_(stale)))
        await session.exec(delete(Promise).where(col(Promise.id).in_(stale)))
    # A space switched off before its removal was timed (or before this version) starts its
    # clock now, so it is never erased sooner than the period promises.
    await conn.execute(
        update(Space)
        .where(col(Space.active).is_(False), col(Space.deactivated_at).is_(None))
        .values(deactivated_at=now)
    )
    gone_before = now - timedelta(days=retention.inactive_days)
    found = await session.exec(
        select(Space).where(
            col(Space.active).is_(False),
            col(Space.deactivated_at).is_not(None),
            col(Space.deactivated_at) < gone_before,
        )
    )
    spaces = list(found.all())
    for space in spaces:
        await erase_space(session, space)
    erased = sum(int(getattr(r, "rowcount", 0) or 0) for r in (notes, words, offers))
    # A /repair talk left unfinished expires quietly; a finished one's words keep a note's year.
    erased += await sweep_talks(session, now, retention.note_days)
    return Swept(erased, len(stale), len(spaces))


class Housekeeper:
    """Runs the pass at most once a UTC day, across restarts and processes (a claimed row)."""

    def __init__(self, store: Store, clock: Clock, retention: Retention) -> None:
        self.store = store
        self.clock = clock
        self.retention = retention
        self._done: date | None = None  # the day this process knows is done: no query per tick
        self._running = asyncio.Lock()

    async def idle(self) -> None:
        """Returns once no pass is running (stopping waits for one, not to cut it in half)."""
        async with self._running:
            return

    async def run(self) -> Swept | None:
        """The day's pass, if nobody ran it yet; None when it was already done today."""
        async with self._running:
            return await self._run()

    async def _run(self) -> Swept | None:
        now = self.clock.now()
        day = now.astimezone(UTC).date()
        if self._done == day:
            return None
        async with self.store.unit() as session:
            claimed = await claim_housekeeping(session, day, now)
            swept = await sweep(session, now, self.retention) if claimed else None
        self._done = day
        if swept is not None:
            await self.store.analyze()  # the planner's statistics follow the tables' growth
            # SQLite: fold the WAL, so the erased words leave the file. PostgreSQL: a forgotten
            # member's key that an older transaction still saw at the forget leaves the files
            # here at the latest (Store.scrub).
            if swept.erased or not self.store.is_sqlite:
                await self.store.scrub()
            log.info(
                "housekeeping: erased %d note(s), %d promise(s), %d inactive space(s)",
                swept.notes,
                swept.promises,
                swept.spaces,
            )
        return swept
