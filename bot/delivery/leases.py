"""Leases, heartbeats and recovery: which instances are alive, and what a stopped one left."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update

from bot.ports import Clock
from bot.store import Delivery, Instance, Store, upsert_insert

log = logging.getLogger(__name__)

# Each instance beats this often; a claim holds this long past the last beat that renewed it.
# Read at call time (tests, and tests/fleet_run.py, shorten them here).
HEARTBEAT = timedelta(seconds=30)
LEASE = timedelta(seconds=90)
# A claim still open when its instance stopped: sent by another instance if it never left
# (`claimed`), given up if it may have (`handing`).
OPEN = ("claimed", "handing")
# A row that went out to its chat, or is on its way there (a retry sends it yet): a day's
# check-in "came" when one of its rows is in one of these.
OUT = (*OPEN, "sent", "retry")


def hold(instance: str, now: datetime) -> dict[str, Any]:
    """A claim's columns: whose it is, and until when it holds without a beat."""
    return {"claimed_by": instance, "lease_until": now + LEASE}


async def live(store: Store, now: datetime) -> int:
    """How many instances beat within a lease (this one included, at least one)."""
    i = Instance.__table__.c  # type: ignore[attr-defined]
    async with store.read() as session:
        conn = await session.connection()
        count = (
            await conn.execute(
                select(func.count())
                .select_from(Instance.__table__)  # type: ignore[attr-defined]
                .where(i.beat_at >= now - LEASE)
            )
        ).scalar_one()
    return max(int(count), 1)


async def beat(store: Store, instance: str, started: datetime, now: datetime) -> None:
    """This instance is alive: its heartbeat and the leases of its open claims move on."""
    i, d = Instance.__table__.c, Delivery.__table__.c  # type: ignore[attr-defined]
    insert_ = upsert_insert(store.engine.dialect.name)
    async with store.writing() as conn:
        await conn.execute(
            insert_(Instance.__table__)  # type: ignore[attr-defined]
            .values(id=instance, started_at=started, beat_at=now)
            .on_conflict_do_update(index_elements=["id"], set_={"beat_at": now})
        )
        open_claims: Any = and_(d.status.in_(OPEN), d.claimed_by == instance)
        if not store.is_sqlite:
            # Rows a send of ours is writing right now are skipped (the next beat gets them),
            # so a beat never waits on, or deadlocks with, this instance's own dispatch.
            open_claims = d.id.in_(
                select(d.id).where(open_claims).with_for_update(skip_locked=True)
            )
        await conn.execute(update(Delivery).where(open_claims).values(lease_until=now + LEASE))
        # An instance silent for a day is long gone; its claims were recovered by then.
        await conn.execute(delete(Instance).where(i.beat_at < now - timedelta(days=1)))


async def leave(store: Store, instance: str) -> None:
    """A clean stop: this instance no longer counts as live (its share of the rate goes
    to the others at their next beat)."""
    async with store.writing() as conn:
        await conn.execute(
            delete(Instance).where(Instance.__table__.c.id == instance)  # type: ignore[attr-defined]
        )


async def recover(store: Store, instance: str, now: datetime) -> int:
    """The open claims of instances that stopped: what was claimed but never handed to the
    platform is sent (through the retry path, so a stale one is recorded missed); what was
    being handed over may have arrived, and is marked interrupted, never resent.

    On PostgreSQL only claims whose lease expired, of instances that stopped beating, are
    taken. SQLite runs one process (a file lock refuses a second), so there every claim
    not made by this instance is left over from before a restart. Returns how many were
    interrupted."""
    d, i = Delivery.__table__.c, Instance.__table__.c  # type: ignore[attr-defined]
    mine = d.claimed_by == instance
    if store.is_sqlite:
        orphan = or_(d.claimed_by.is_(None), ~mine)
    else:
        alive = select(i.id).where(i.beat_at >= now - LEASE)
        orphan = and_(
            or_(d.claimed_by.is_(None), and_(~mine, d.claimed_by.not_in(alive))),
            or_(d.lease_until.is_(None), d.lease_until < now),
        )
    async with store.writing() as conn:
        lost = await conn.execute(
            update(Delivery)
            .where(d.status == "handing", orphan)
            .values(status="interrupted", reason="stopped while sending", lease_until=None)
        )
        again = await conn.execute(
            update(Delivery)
            .where(d.status == "claimed", orphan)
            .values(
                status="retry",
                next_attempt_at=now,
                reason="claimed by an instance that stopped",
                claimed_by=None,
                lease_until=None,
            )
        )
    interrupted = int(getattr(lost, "rowcount", 0) or 0)
    reclaimed = int(getattr(again, "rowcount", 0) or 0)
    if interrupted or reclaimed:
        log.warning(
            "recovered after a stop: %d claimed but never handed over, to be sent now; "
            "%d were being handed over and are not resent",
            reclaimed,
            interrupted,
        )
    return interrupted


async def give_back(store: Store, ids: Sequence[int], clock: Clock) -> None:
    """A batch that failed half-way (the database went away, say) is not left claimed by
    a live instance, where no recovery would look: what was never handed over is retried,
    what was being handed over is interrupted. Best effort: if this fails too, a restart
    recovers them."""
    d = Delivery.__table__.c  # type: ignore[attr-defined]
    try:
        async with store.writing() as conn:
            await conn.execute(
                update(Delivery)
                .where(d.id.in_(ids), d.status == "handing")
                .values(status="interrupted", reason="stopped while sending", lease_until=None)
            )
            await conn.execute(
                update(Delivery)
                .where(d.id.in_(ids), d.status == "claimed")
                .values(
                    status="retry",
                    next_attempt_at=clock.now(),
                    claimed_by=None,
                    lease_until=None,
                )
            )
    except Exception as err:
        log.error("could not give back a failed batch: %s", type(err).__name__)
