"""Which question a space gets on a day: the same for both partners, light before deep, and
never one already answered there. The day's question is kept in `once` ("ask:<day>:<id>"), so
it survives a restart and every process agrees on it; a swap adds a newer one for the day."""

from __future__ import annotations

import functools
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.paths.library import DEPTHS, DailyQuestion, load_paths
from bot.paths.progress import on_paths, path_of
from bot.store import Once, QuestionAnswer, insert_all_new, once

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


async def _paths(session: AsyncSession, space_ids: set[int]) -> dict[int, str]:
    """The guided path each space walks (its own questions join the day's); none if it walks
    none."""
    chosen = await on_paths(session, space_ids)
    return {k: path.id for k, state in chosen.items() if (path := path_of(state)) is not None}


async def _asked(session: AsyncSession, space_ids: set[int]) -> dict[int, dict[str, str]]:
    """Every question each space was given, with the last day it was (ISO dates sort)."""
    keys = await session.exec(
        select(Once.space_id, Once.key).where(
            col(Once.space_id).in_(space_ids), col(Once.key).startswith(ASK)
        )
    )
    last: dict[int, dict[str, str]] = {}
    for space_id, key in keys.all():
        _, day, question = key.split(":", 2)
        mine = last.setdefault(space_id, {})
        mine[question] = max(day, mine.get(question, ""))
    return last


async def _answered(session: AsyncSession, space_ids: set[int]) -> dict[int, set[str]]:
    found = await session.exec(
        select(QuestionAnswer.space_id, QuestionAnswer.question_id).where(
            col(QuestionAnswer.space_id).in_(space_ids), col(QuestionAnswer.text).is_not(None)
        )
    )
    answered: dict[int, set[str]] = {}
    for space_id, question_id in found.all():
        answered.setdefault(space_id, set()).add(question_id)
    return answered


async def _choices(
    session: AsyncSession, space_ids: set[int], exclude: dict[int, set[str]]
) -> dict[int, DailyQuestion]:
    """The question each space would be given next (none of its `exclude`), from its history:
    three queries for any number of spaces."""
    paths = await _paths(session, space_ids)
    asked = await _asked(session, space_ids)
    answered = await _answered(session, space_ids)
    return {
        space_id: choose(
            daily_questions(paths.get(space_id)),
            asked.get(space_id, {}),
            answered.get(space_id, set()),
            exclude.get(space_id, set()),
        )
        for space_id in space_ids
    }


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
    return (await todays_for(session, {space_id}, day, now))[space_id]


async def todays_for(
    session: AsyncSession, space_ids: set[int], day: date, now: datetime
) -> dict[int, DailyQuestion]:
    """`todays` for many spaces on one local day (a batch of check-ins): a handful of queries
    in all rather than a handful a space, which held the check-ins of 100,000 couples to a
    few hundred a second."""
    found = await current_for(session, space_ids, day)
    missing = space_ids - found.keys()
    if not missing:
        return found
    chosen = await _choices(session, missing, {})
    # Two requests at once choose the same question from the same history: the first one wins,
    # and the newest of the day is read back.
    await insert_all_new(
        session,
        Once,
        ["space_id", "key"],
        [
            {"space_id": k, "key": ask_prefix(day) + chosen[k].id, "at": now}
            for k in sorted(missing)
        ],
    )
    again = await current_for(session, missing, day)
    return {**found, **{k: again.get(k, chosen[k]) for k in missing}}


async def current_on(session: AsyncSession, space_id: int, day: date) -> DailyQuestion | None:
    """The day's question if one was chosen: the newest, after a swap."""
    return (await current_for(session, {space_id}, day)).get(space_id)


async def current_for(
    session: AsyncSession, space_ids: set[int], day: date
) -> dict[int, DailyQuestion]:
    """`current_on` for many spaces at once: those that have one."""
    keys = await session.exec(
        select(Once.space_id, Once.key)
        .where(col(Once.space_id).in_(space_ids), col(Once.key).startswith(ask_prefix(day)))
        .order_by(col(Once.id).desc())
    )
    found: dict[int, DailyQuestion] = {}
    for space_id, key in keys.all():
        if space_id not in found and (question := by_id().get(key.rsplit(":", 1)[1])):
            found[space_id] = question
    return found


async def swap(
    session: AsyncSession, space_id: int, day: date, now: datetime
) -> DailyQuestion | None:
    """Another question for the day, once a day; None when today's swap was used."""
    current = await todays(session, space_id, day, now)
    if not await once(session, space_id, swap_key(day), now):
        return None
    question = (await _choices(session, {space_id}, {space_id: {current.id}}))[space_id]
    await once(session, space_id, ask_prefix(day) + question.id, now)
    return question
