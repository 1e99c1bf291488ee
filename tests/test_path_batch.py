"""A batch of daily steps settles every space's path at once (four queries, not four a space):
each space must come out exactly as if it were settled alone, whatever its neighbours in the
batch did. Many couples in many situations, against each settled by itself."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.paths.progress import settle, settle_all
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
        }
        if rng.random() < 0.2:
            rest_from = TODAY - timedelta(days=rng.randrange(0, 10))
            state |= {"rest_from": rest_from, "rest_until": rest_from + timedelta(days=7)}
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

    alone: dict[int, tuple[object, ...] | None] = {}
    for i in range(1, SPACES + 1):
        async with AsyncSession(engine, expire_on_commit=False) as session:
            alone[i] = _where(await settle(session, i, TODAY))
            await session.rollback()  # each starts from the same stored state
    async with AsyncSession(engine, expire_on_commit=False) as session:
        batch = await settle_all(session, [(i, TODAY) for i in range(1, SPACES + 1)])
        together = {i: _where(batch.get(i)) for i in range(1, SPACES + 1)}
        await session.rollback()

    assert together == alone
    moved = [i for i, where in alone.items() if where and where[1] != _week_of(states, i)]
    assert moved, "no space moved on a week: the world tests too little"
    counted = [where for where in alone.values() if where and where[3]]
    assert counted, "no space counted a day both took part: the world tests too little"


def _week_of(states: list[dict[str, object]], space_id: int) -> object:
    return next(s["week"] for s in states if s["space_id"] == space_id)
