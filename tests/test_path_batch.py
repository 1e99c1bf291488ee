"""A batch of daily steps settles every space's path at once (four queries, not four a space):
each space must come out exactly as if it were settled alone, whatever its neighbours in the
batch did. Many couples in many situations, against each settled by itself."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.paths.progress import PACES, TAKEN_PART, _lift, path_of, resting, settle, settle_all
from bot.service import Tandem
from bot.store import CheckinAnswer, Member, PathState, QuestionAnswer, Space

TODAY = date(2026, 11, 21)
AT = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
SPACES = 60


def _world(seed: int) -> tuple[list[dict[str, object]], ...]:
    """Spaces on every path and pace, some resting, some free, some never begun, with days on
    which both, one or neither partner took part (a tap, or words for today's question)."""
    rng = random.Random(seed)
    spaces, members, states, taps, words = [], [], [], [], []
    for i in range(1, SPACES + 1):
        spaces.append(
            {
                "id": i,
                "platform": "test",
                "chat_id": f"chat-{i}",
                "timezone": "UTC",
                "topics": "gratitude",
                "active": True,
                "content_cycle": 0,
                "created_at": AT - timedelta(days=40),
            }
        )
        pair = (2 * i - 1, 2 * i)
        alone = rng.random() < 0.2  # now and then the second is in the chat, not a partner
        for member_id in pair:
            members.append(
                {
                    "id": member_id,
                    "space_id": i,
                    "user_id": f"u{member_id}",
                    "display_name": "P",
                    "joined_at": AT - timedelta(days=40),
                    "partner": not (alone and member_id == pair[1]),
                }
            )
        started = TODAY - timedelta(days=rng.randrange(0, 30))
        state: dict[str, object] = {
            "space_id": i,
            "path": rng.choice(("breach", "worry", "strong", "free")),
            "week": rng.randrange(1, 4),
            "week_started": rng.choice((started, started, None)),
            "pace": rng.choice(("normal", "slower")),
            "chosen_at": AT - timedelta(days=40),
            "rest_from": None,  # every row names every column: a many-row insert takes the first's
            "rest_until": None,
        }
        if rng.random() < 0.25:
            rest_from = TODAY - timedelta(days=rng.randrange(0, 10))
            state |= {"rest_from": rest_from, "rest_until": rest_from + timedelta(days=7)}
        if rng.random() < 0.1:  # back after months away
            state["week_started"] = TODAY - timedelta(days=rng.randrange(60, 120))
        states.append(state)
        for back in range(1, 31):
            day = TODAY - timedelta(days=back)
            for member_id in pair:
                roll = rng.random()
                row = {
                    "space_id": i,
                    "member_id": member_id,
                    "local_date": day,
                    "answered_at": AT,
                    "updated_at": AT,
                }
                if roll < 0.45:
                    taps.append(row | {"took_part": rng.random() < 0.9})
                elif roll < 0.6:
                    words.append(row | {"question_id": "q-001", "passed": True})
    return spaces, members, states, taps, words


def _where(state: PathState | None) -> tuple[object, ...] | None:
    if state is None:
        return None
    return (
        state.path,
        state.week,
        state.week_started,
        state.days_taken_part,
        state.rest_from,
        state.rest_until,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_batch_settles_each_space_as_if_it_were_alone(lite: Tandem, seed: int) -> None:
    spaces, members, states, taps, words = _world(seed)
    engine = lite.store.engine
    async with engine.begin() as conn:
        for table, rows in (
            (Space, spaces),
            (Member, members),
            (PathState, states),
            (CheckinAnswer, taps),
            (QuestionAnswer, words),
        ):
            if rows:
                await conn.execute(insert(table), rows)

    # A batch at one instant holds several local days: a space east of the date line is a day on.
    day_of = {i: TODAY + timedelta(days=(i % 3) - 1) for i in range(1, SPACES + 1)}
    alone: dict[int, tuple[object, ...] | None] = {}
    for i in range(1, SPACES + 1):
        async with AsyncSession(engine, expire_on_commit=False) as session:
            alone[i] = _where(await _settle_alone(session, i, day_of[i]))
            await session.rollback()  # each starts from the same stored state
    async with AsyncSession(engine, expire_on_commit=False) as session:
        batch = await settle_all(session, list(day_of.items()))
        together = {i: _where(batch.get(i)) for i in range(1, SPACES + 1)}
        await session.rollback()
    async with AsyncSession(engine, expire_on_commit=False) as session:
        one = {i: _where(await settle(session, i, day_of[i])) for i in (1, 2, 3)}
        await session.rollback()

    assert together == alone
    assert one == {i: alone[i] for i in (1, 2, 3)}  # settle is a batch of one
    moved = [i for i, where in alone.items() if where and where[1] != _week_of(states, i)]
    assert moved, "no space moved on a week: the world tests too little"
    counted = [where for where in alone.values() if where and where[3]]
    assert counted, "no space counted a day both took part: the world tests too little"
    lifted = [s for s in states if s["rest_until"] and alone[s["space_id"]][4] is None]  # type: ignore[index]
    assert lifted, "no rest lifted: the world tests too little"


async def _settle_alone(session: AsyncSession, space_id: int, day: date) -> PathState | None:
    """The per-space settle as it was before batches (four queries a space): the oracle."""
    state = await session.get(PathState, space_id)
    if state is None or state.path == "free":
        return state
    if state.rest_until is not None and day >= state.rest_until:
        _lift(state, day)
    if resting(state, day):
        return state
    path = path_of(state)
    while path is not None and state.week_started is not None:
        pace = PACES[state.pace]
        elapsed = (day - state.week_started).days
        end = min(day, state.week_started + timedelta(pace.cap))
        state.days_taken_part = await _both_alone(session, space_id, state.week_started, end)
        if elapsed < pace.length:
            break
        if state.days_taken_part < TAKEN_PART and elapsed < pace.cap:
            break
        state.week += 1
        state.week_started = day
        state.days_taken_part = 0
        path = path_of(state)
    return state


async def _both_alone(session: AsyncSession, space_id: int, start: date, end: date) -> int:
    partners = await session.exec(
        select(Member.id).where(Member.space_id == space_id, col(Member.partner))
    )
    who = set(partners.all())
    if not who or start >= end:
        return 0
    days: dict[date, set[int]] = {}
    taps = await session.exec(
        select(CheckinAnswer.local_date, CheckinAnswer.member_id).where(
            CheckinAnswer.space_id == space_id,
            col(CheckinAnswer.took_part),
            CheckinAnswer.local_date >= start,
            CheckinAnswer.local_date < end,
        )
    )
    for day, member in taps.all():
        days.setdefault(day, set()).add(member)
    words = await session.exec(
        select(QuestionAnswer.local_date, QuestionAnswer.member_id).where(
            QuestionAnswer.space_id == space_id,
            col(QuestionAnswer.text).is_not(None) | col(QuestionAnswer.passed),
            QuestionAnswer.local_date >= start,
            QuestionAnswer.local_date < end,
        )
    )
    for day, member in words.all():
        days.setdefault(day, set()).add(member)
    return sum(1 for members in days.values() if who <= members)


def _week_of(states: list[dict[str, object]], space_id: int) -> object:
    return next(s["week"] for s in states if s["space_id"] == space_id)
