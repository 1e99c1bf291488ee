"""Which question a space gets on a day: the same for both partners, light before deep, and
never one already answered there. The day's question is kept in `once` ("ask:<day>:<id>"), so
it survives a restart and every process agrees on it; a swap adds a newer one for the day."""

from __future__ import annotations

import functools
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.paths.library import DEPTHS, DailyQuestion, load_paths
from bot.paths.progress import path_of, state_of
from bot.store import Once, QuestionAnswer, insert_new, once

ASK = "ask:"


def ask_prefix(day: date) -> str:
    return f"{ASK}{day.isoformat()}:"


def swap_key(day: date) -> str:
    return f"qswap:{day.isoformat()}"


@functools.cache
def daily_questions(path: str | None = None) -> tuple[DailyQuestion, ...]:
    """The shipped questions for free practice (path "any"), or for a guided path (those and
    its own), light first, then medium, then deep, each depth in the file's order."""
    found = load_paths().questions_for(path)
    return tuple(sorted(found, key=lambda q: DEPTHS.index(q.depth)))


@functools.cache
def by_id() -> dict[str, DailyQuestion]:
    return {q.id: q for q in load_paths().questions}


async def _path(session: AsyncSession, space_id: int) -> str | None:
    """The guided path the space walks (its own questions join the day's), None otherwise."""
    path = path_of(await state_of(session, space_id))
    return path.id if path is not None else None


async def _asked(session: AsyncSession, space_id: int) -> dict[str, str]:
    """Every question this space was given, with the last day it was (ISO dates sort)."""
    keys = await session.exec(
        select(Once.key).where(Once.space_id == space_id, col(Once.key).startswith(ASK))
    )
    last: dict[str, str] = {}
    for key in keys.all():
        _, day, question = key.split(":", 2)
        last[question] = max(day, last.get(question, ""))
    return last


async def _answered(session: AsyncSession, space_id: int) -> set[str]:
    found = await session.exec(
        select(QuestionAnswer.question_id).where(
            QuestionAnswer.space_id == space_id, col(QuestionAnswer.text).is_not(None)
        )
    )
    return set(found.all())


def choose(
    questions: tuple[DailyQuestion, ...],
    asked: dict[str, str],
    answered: set[str],
    exclude: set[str],
) -> DailyQuestion:
    """The first question never asked here; once all were, the one passed over longest ago.
    A question someone answered is never chosen again."""
    open_ = [q for q in questions if q.id not in answered and q.id not in exclude]
    fresh = [q for q in open_ if q.id not in asked]
    if fresh:
        return fresh[0]
    if open_:
        return min(open_, key=lambda q: asked.get(q.id, ""))
    return questions[0]  # every one answered (153 days of words): the first comes round again


async def todays(session: AsyncSession, space_id: int, day: date, now: datetime) -> DailyQuestion:
    """The day's question for the space, chosen the first time anyone needs it."""
    current = await current_on(session, space_id, day)
    if current is not None:
        return current
    question = choose(
        daily_questions(await _path(session, space_id)),
        await _asked(session, space_id),
        await _answered(session, space_id),
        set(),
    )
    # Two requests at once choose the same question from the same history: the first one wins.
    await insert_new(
        session,
        Once,
        ["space_id", "key"],
        space_id=space_id,
        key=ask_prefix(day) + question.id,
        at=now,
    )
    return await current_on(session, space_id, day) or question


async def current_on(session: AsyncSession, space_id: int, day: date) -> DailyQuestion | None:
    """The day's question if one was chosen: the newest, after a swap."""
    keys = await session.exec(
        select(Once.key)
        .where(Once.space_id == space_id, col(Once.key).startswith(ask_prefix(day)))
        .order_by(col(Once.id).desc())
    )
    for key in keys.all():
        if (found := by_id().get(key.rsplit(":", 1)[1])) is not None:
            return found
    return None


async def swap(
    session: AsyncSession, space_id: int, day: date, now: datetime
) -> DailyQuestion | None:
    """Another question for the day, once a day; None when today's swap was used."""
    current = await todays(session, space_id, day, now)
    if not await once(session, space_id, swap_key(day), now):
        return None
    question = choose(
        daily_questions(await _path(session, space_id)),
        await _asked(session, space_id),
        await _answered(session, space_id),
        {current.id},
    )
    await once(session, space_id, ask_prefix(day) + question.id, now)
    return question
