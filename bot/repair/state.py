"""What may be read of the /repair talk's tables (bot/tables.py: one talk a space at a time,
each partner's part of it: what they felt, needed, their own part, one thing to do
differently, sealed with their own key), and when a talk left unfinished quietly expires."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.paths.library import Repair, RepairQuestion, load_paths
from bot.schedule import as_utc
from bot.store import Member, Space
from bot.tables import REPAIR_STEPS, PartState, RepairPart, RepairTalk, TalkStatus

__all__ = ["PartState", "RepairPart", "RepairTalk", "TalkStatus"]

# A talk nobody touched for this long expires quietly: no message, and its words are erased.
EXPIRE_DAYS = 5
STEPS = REPAIR_STEPS
WRITTEN = 3  # a part's step once its three private answers are written
SEALED_COLUMNS = STEPS


@functools.cache
def talk_words() -> Repair:
    """The talk's words, from content/repair.toml."""
    return load_paths().repair


def question(step: int) -> RepairQuestion:
    words = talk_words()
    return (*words.questions(), words.differently)[step]


def rule_of(space: Space, part: RepairPart) -> str:
    return "never" if space.reveal == "never" else part.reveal


def shown(space: Space, part: RepairPart) -> bool:
    """Whether the other partner may read this part's words (once it is their time)."""
    return not part.held and rule_of(space, part) != "never"


def expired(talk: RepairTalk, now: datetime) -> bool:
    return talk.updated_at < now - timedelta(days=EXPIRE_DAYS)


async def current_talk(session: AsyncSession, space: Space, now: datetime) -> RepairTalk | None:
    """The space's talk under way (open or revealed); one left too long is erased, quietly."""
    found = await session.exec(
        select(RepairTalk)
        .where(
            RepairTalk.space_id == space.id,
            col(RepairTalk.status).in_([TalkStatus.OPEN, TalkStatus.REVEALED]),
        )
        .order_by(col(RepairTalk.id).desc())
    )
    talk = found.first()
    if talk is not None and expired(talk, now):
        await erase_talks(session, [talk.id])
        return None
    return talk


DECLINE_REST = timedelta(hours=24)  # after a partner's "Not now", the other waits this long


async def declined_lately(
    session: AsyncSession, space: Space, member_id: int | None, now: datetime
) -> datetime | None:
    """When another partner said "Not now" to a talk within DECLINE_REST: the moment the asker
    may invite again, else None. The one who declined may start a talk whenever they like."""
    found = await session.exec(
        select(RepairPart.updated_at)
        .join(RepairTalk, col(RepairTalk.id) == RepairPart.talk_id)
        .where(
            RepairTalk.space_id == space.id,
            RepairTalk.status == TalkStatus.DECLINED,
            RepairPart.state == PartState.DECLINED,
            RepairPart.member_id != member_id,
        )
        .order_by(col(RepairPart.updated_at).desc())
        .limit(1)
    )
    at = found.first()
    if at is None:
        return None
    again = as_utc(at) + DECLINE_REST
    return again if now < again else None


async def erase_talks(session: AsyncSession, ids: list[int | None]) -> None:
    await session.exec(delete(RepairPart).where(col(RepairPart.talk_id).in_(ids)))
    await session.exec(delete(RepairTalk).where(col(RepairTalk.id).in_(ids)))


async def parts_of(session: AsyncSession, talk: RepairTalk) -> list[tuple[Member, RepairPart]]:
    """Each partner's part, in the order they joined the space."""
    found = await session.exec(
        select(Member, RepairPart)
        .join(RepairPart, col(RepairPart.member_id) == Member.id)
        .where(RepairPart.talk_id == talk.id)
        .order_by(col(Member.id))
    )
    return [(m, p) for m, p in found.all()]


async def sweep(session: AsyncSession, now: datetime, note_days: int) -> int:
    """Erases talks left unfinished past EXPIRE_DAYS, and any talk whose last word is older than
    the note period (its words are free text, kept no longer than notes). Returns how many."""
    unfinished = select(RepairTalk.id).where(
        col(RepairTalk.status).in_([TalkStatus.OPEN, TalkStatus.REVEALED]),
        col(RepairTalk.updated_at) < now - timedelta(days=EXPIRE_DAYS),
    )
    old = select(RepairTalk.id).where(col(RepairTalk.updated_at) < now - timedelta(days=note_days))
    ids = sorted({*(await session.exec(unfinished)).all(), *(await session.exec(old)).all()})
    if ids:
        await erase_talks(session, list(ids))
    return len(ids)


TALK_WORDS = {
    TalkStatus.OPEN: "being written",
    TalkStatus.REVEALED: "both wrote their part",
    TalkStatus.DONE: "both chose one thing to do differently",
    TalkStatus.DECLINED: "ended with Not now",
}


async def export_rows(
    session: AsyncSession, space: Space, member: Member | None, with_private: bool
) -> list[dict[str, Any]]:
    """For /export: the asker's own parts of each talk, their words where private things go."""
    if member is None:
        return []
    found = await session.exec(
        select(RepairPart, RepairTalk)
        .join(RepairTalk, col(RepairTalk.id) == RepairPart.talk_id)
        .where(RepairPart.space_id == space.id, RepairPart.member_id == member.id)
        .order_by(col(RepairPart.id))
    )
    rows: list[dict[str, Any]] = []
    for part, talk in found.all():
        row: dict[str, Any] = {
            "started_at": talk.started_at,
            # Where the talk got to, in words that claim nothing: with /reveal never, "revealed"
            # (the state after both wrote) showed nobody anything.
            "talk": TALK_WORDS.get(talk.status, talk.status),
            "state": part.state,
        }
        if with_private:
            row.update({step: getattr(part, step) for step in STEPS})
        rows.append(row)
    return rows
