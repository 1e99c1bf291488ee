"""Where a space is on its guided path: choosing one, the pace a week moves on at, repeating a
stage, and the rest from couple exercises after crisis help. One `pathstate` row a space; a
space without one is on Free practice (today's topic rotation).

Pace (a missed day is never held against anyone; a week simply takes longer, up to a cap):
    normal: a week moves on after 7 days once both took part on 4 of its days, else after 10;
    slower: after 10 days once both took part on 4 of its days, else after 14.
A week counts its days from the local day of its first step, so a week that starts late (the
path was chosen after that evening's step) loses nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.paths.library import DAYS, GuidedPath, PathLibrary, load_paths
from bot.store import CheckinAnswer, Delivery, Member, PathState, QuestionAnswer

FREE = "free"
TAKEN_PART = 4  # days of a week both took part in, for it to move on before its cap


@dataclass(frozen=True)
class Pace:
    name: str
    length: int  # days before a week may move on
    cap: int  # days after which a week moves on whatever happened


PACES = {"normal": Pace("normal", DAYS, 10), "slower": Pace("slower", 10, 14)}
REST_DAYS = 7  # after crisis help: no couple exercises for a week, or until the writer chooses


@functools.cache
def paths() -> PathLibrary:
    return load_paths()


def path_of(state: PathState | None) -> GuidedPath | None:
    """The path a space walks now; None on Free practice, or once a path that ends was walked."""
    if state is None or state.path == FREE:
        return None
    path = paths().paths[state.path]
    if not path.open_ended and state.week > path.weeks:
        return None
    return path


def walked(state: PathState | None) -> bool:
    """A path that ends, walked to its end."""
    if state is None or state.path == FREE:
        return False
    path = paths().paths[state.path]
    return not path.open_ended and state.week > path.weeks


def day_of_week(state: PathState, day: date) -> int:
    """Which day of its week `day` is, from 1 (before the week's first step: 1)."""
    if state.week_started is None:
        return 1
    return max((day - state.week_started).days + 1, 1)


def step_day(state: PathState, day: date) -> int:
    """Which of the week's seven steps `day` gets. A slower week spreads them over ten days;
    days past a week's length (a week still waiting to move on) start again from its lightest."""
    n = day_of_week(state, day)
    length = PACES[state.pace].length
    if n <= length:
        return (n - 1) * DAYS // length + 1
    return (n - length - 1) % DAYS + 1


def resting(state: PathState | None, day: date) -> bool:
    return (
        state is not None
        and state.rest_until is not None
        and state.rest_from is not None
        and state.rest_from <= day < state.rest_until
    )


async def state_of(session: AsyncSession, space_id: int) -> PathState | None:
    return await session.get(PathState, space_id)


async def on_paths(session: AsyncSession, space_ids: Iterable[int]) -> dict[int, PathState]:
    """The states of those of these spaces that chose a path, in one query: a batch of
    deliveries asks once, rather than once a space (most spaces have no path, and a missing row
    is never cached, so that was a query each: a tenth of the delivery rate at 100,000)."""
    wanted = set(space_ids)
    if not wanted:
        return {}
    found = await session.exec(
        select(PathState).where(col(PathState.space_id).in_(wanted), col(PathState.path) != FREE)
    )
    return {state.space_id: state for state in found.all()}


@dataclass(frozen=True)
class TookPart:
    """Who of each space's partners took part on which day (a check-in tapped or skipped, or
    today's question answered or passed), read once for a batch of spaces."""

    partners: dict[int, frozenset[int]]
    days: dict[int, dict[date, set[int]]]

    def both(self, space_id: int, start: date, end: date) -> int:
        """Days in [start, end) on which every partner (two, in a couple) took part."""
        who = self.partners.get(space_id)
        if not who or start >= end:
            return 0
        days = self.days.get(space_id, {})
        return sum(1 for day, members in days.items() if start <= day < end and who <= members)


async def took_part(
    session: AsyncSession, space_ids: Iterable[int], start: date, end: date
) -> TookPart:
    """What `TookPart` counts from, for these spaces, on the days in [start, end): three
    queries, however many spaces."""
    wanted = set(space_ids)
    partners: dict[int, set[int]] = {}
    days: dict[int, dict[date, set[int]]] = {}
    if not wanted or start >= end:
        return TookPart({}, {})
    found = await session.exec(
        select(Member.space_id, Member.id).where(
            col(Member.space_id).in_(wanted), col(Member.partner)
        )
    )
    for space_id, member_id in found.all():
        if member_id is not None:
            partners.setdefault(space_id, set()).add(member_id)
    taps = await session.exec(
        select(
            col(CheckinAnswer.space_id),
            col(CheckinAnswer.local_date),
            col(CheckinAnswer.member_id),
        ).where(
            col(CheckinAnswer.space_id).in_(wanted),
            col(CheckinAnswer.took_part),
            col(CheckinAnswer.local_date) >= start,
            col(CheckinAnswer.local_date) < end,
        )
    )
    words = await session.exec(
        select(
            col(QuestionAnswer.space_id),
            col(QuestionAnswer.local_date),
            col(QuestionAnswer.member_id),
        ).where(
            col(QuestionAnswer.space_id).in_(wanted),
            col(QuestionAnswer.text).is_not(None) | col(QuestionAnswer.passed),
            col(QuestionAnswer.local_date) >= start,
            col(QuestionAnswer.local_date) < end,
        )
    )
    for space_id, day, member in [*taps.all(), *words.all()]:
        days.setdefault(space_id, {}).setdefault(day, set()).add(member)
    return TookPart({k: frozenset(v) for k, v in partners.items()}, days)


def _lift(state: PathState, day: date) -> None:
    """The rest ends: the week's days resume where they stood, so it was never counted."""
    started, since, until = state.week_started, state.rest_from, state.rest_until
    if started is not None and since is not None and until is not None and started <= since:
        rested = (min(day, until) - since).days
        state.week_started = started + timedelta(days=max(rested, 0))
    state.rest_from = state.rest_until = state.rest_member = None


async def settle(session: AsyncSession, space_id: int, day: date) -> PathState | None:
    """The space's state on `day` (its local date), moved on as the pace says: a rest that ran
    out lifts, and a week that is done gives way to the next, as often as needed. Idempotent:
    every caller on the same day gets the same answer."""
    return (await settle_all(session, [(space_id, day)])).get(space_id)


async def settle_all(
    session: AsyncSession, days: Iterable[tuple[int, date]]
) -> dict[int, PathState]:
    """`settle` for a batch of (space, its local day), in four queries rather than four a space:
    the states of those with a row (Free practice included, as it is), each settled. A space
    given twice is settled for the later day (a batch's jobs share one instant)."""
    wanted: dict[int, date] = {}
    for space_id, day in days:
        wanted[space_id] = max(day, wanted.get(space_id, day))
    if not wanted:
        return {}
    found = await session.exec(select(PathState).where(col(PathState.space_id).in_(wanted)))
    states = {state.space_id: state for state in found.all()}
    walking: dict[int, PathState] = {}
    for space_id, state in states.items():
        day = wanted[space_id]
        if state.path == FREE:
            continue
        if state.rest_until is not None and day >= state.rest_until:
            _lift(state, day)
        session.add(state)
        if (
            not resting(state, day)
            and path_of(state) is not None
            and state.week_started is not None
        ):
            walking[space_id] = state
    # Only weeks still inside their cap need their days counted (one past it moves on whatever
    # the count): a couple back after months does not make the batch read months of answers.
    counting = {
        space_id: state.week_started
        for space_id, state in walking.items()
        if state.week_started is not None
        and (wanted[space_id] - state.week_started).days < PACES[state.pace].cap
    }
    counted = TookPart({}, {})
    if counting:
        end = max(wanted[space_id] for space_id in counting)
        counted = await took_part(session, counting, min(counting.values()), end)
    for space_id, state in walking.items():
        _move_on(state, wanted[space_id], counted)
    return states


def _move_on(state: PathState, day: date, counted: TookPart) -> None:
    """A week that is done gives way to the next, as often as needed, as the pace says."""
    path = path_of(state)
    while path is not None and state.week_started is not None:
        pace = PACES[state.pace]
        elapsed = (day - state.week_started).days  # whole days of the week gone by
        state.days_taken_part = counted.both(
            state.space_id, state.week_started, min(day, state.week_started + timedelta(pace.cap))
        )
        if elapsed < pace.length:
            break
        if state.days_taken_part < TAKEN_PART and elapsed < pace.cap:
            break
        # The next week starts today, with its first step: a week is never skipped unseen.
        state.week += 1
        state.week_started = day
        state.days_taken_part = 0
        path = path_of(state)


async def begin_day(session: AsyncSession, state: PathState, day: date) -> bool:
    """Marks `day` as the first day of the week if it has none yet: True when it is the week's
    first day (its opening is shown with its step)."""
    if state.week_started is None:
        state.week_started = day
        session.add(state)
    return state.week_started == day


async def choose(
    session: AsyncSession, space_id: int, path_id: str, member_id: int | None, now: datetime
) -> PathState:
    """A path chosen (or Free practice): it starts at week 1 with the next daily step. A rest
    from couple exercises stays as it was."""
    state = await state_of(session, space_id)
    if state is None:
        state = PathState(space_id=space_id, chosen_at=now)
    state.path = path_id
    state.week = 1
    state.week_started = None
    state.days_taken_part = 0
    state.chosen_by = member_id
    state.chosen_at = now
    session.add(state)
    return state


def repeat_stage(state: PathState, path: GuidedPath) -> int:
    """Back to the first week of the current stage, from the next daily step; its first week."""
    stage = path.stage_of(state.week)
    first = min(stage.weeks)
    if path.open_ended:
        # An open-ended path's week numbers keep counting: go back within the current cycle.
        first = state.week - (path.week_at(state.week).number - first)
    state.week = first
    state.week_started = None
    state.days_taken_part = 0
    return first


async def rest(session: AsyncSession, space_id: int, member_id: int | None, day: date) -> bool:
    """Crisis help was given to `member_id`: the space's path makes no couple exercise for
    REST_DAYS. True when the space is on a path (the writer then hears of it, privately)."""
    state = await state_of(session, space_id)
    if path_of(state) is None or state is None:
        return False
    # A day whose step went out already is not a rested one: lifting the rest later moves the
    # week on by the quiet days only, so no step comes twice.
    start = day + timedelta(days=1) if await _step_went_out(session, space_id, day) else day
    if not resting(state, day):
        state.rest_from = start
    state.rest_until = start + timedelta(days=REST_DAYS)
    state.rest_member = member_id
    session.add(state)
    return True


async def _step_went_out(session: AsyncSession, space_id: int, day: date) -> bool:
    """Whether the space's step of `day` was sent, or is on its way (alone, or in a check-in)."""
    found = await session.exec(
        select(Delivery.id)
        .where(
            Delivery.space_id == space_id,
            Delivery.kind == "prompt",
            Delivery.local_date == day,
            col(Delivery.status).not_in(("missed", "skipped", "failed")),
        )
        .limit(1)
    )
    return found.first() is not None


def lift(state: PathState, day: date) -> None:
    _lift(state, day)
