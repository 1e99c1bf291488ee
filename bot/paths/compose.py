"""A path's words inside the messages Tandem already sends: the day's step (with the week's
opening on its first day) in place of the topic rotation's prompt, each side's step in that
partner's private check-in, and the week's conversation guide in the look back. No extra
message: the issue counts messages per couple-day."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Library
from bot.delivery import Job, render
from bot.messages import Outgoing
from bot.paths.library import Guide, GuidedPath, Step
from bot.paths.progress import (
    FREE,
    begin_day,
    on_paths,
    path_of,
    paths,
    resting,
    settle,
    settle_all,
    state_of,
    step_day,
)
from bot.render import WEEKDAYS
from bot.store import Delivery, Member, PathState, Store

# On a rest day the shared step is this, whatever the reason: it says none.
QUIET = (
    "🌿 A quiet day on your path: no step for the two of you today. Take the time for "
    "yourselves, however suits you."
)
# The look back closes the week before when the current one began fewer days ago than this.
CLOSES_BEFORE = 3
SIDE_HEAD = "🧭 Just for you, on your path:"
SIDES = ("doubting", "doubted")  # a partner with one of these gets their side's steps
# What a delivery row records (`Delivery.step`) for a rest day's message: no step.
QUIET_STEP = "quiet"


def heading(path: GuidedPath, week: int) -> str:
    return f"🧭 {path.position(week)} · {path.week_at(week).theme}"


def day_step(path: GuidedPath, state: PathState, day: date) -> Step:
    [step] = path.steps(state.week, step_day(state, day))
    return step


def day_message(path: GuidedPath, state: PathState, day: date, first: bool) -> str:
    """The shared step of `day`: its week's opening first on the week's first day (and the
    path's welcome before that, on the path's very first day)."""
    step = day_step(path, state, day)
    parts = [heading(path, state.week)]
    if first and state.week == 1 and path.intro:
        parts.append(path.intro)
    if first:
        parts.append(path.week_at(state.week).opening)
    parts.append(f"🌱 {WEEKDAYS[day.weekday()]}'s step: {step.text}")
    return "\n\n".join(parts)


async def with_path_steps(
    store: Store, now: datetime, jobs: list[Job], messages: list[Outgoing]
) -> list[Outgoing]:
    """Each shared prompt of a space on a path becomes the path's step of the day; spaces on
    Free practice keep the rotation's prompt. Each job's row records the step it showed."""
    out = list(messages)
    walking = await _walking(store, (job.space_id for job in jobs))
    if not walking:
        return out
    shown: dict[int, str] = {}
    async with store.unit() as session:  # a path's day moves on as it is shown: a write
        settled = await settle_all(
            session, ((job.space_id, job.local_date) for job in jobs if job.space_id in walking)
        )
        for index, job in enumerate(jobs):
            state = settled.get(job.space_id)
            path = path_of(state)
            if path is None or state is None:
                continue
            if resting(state, job.local_date):
                out[index] = replace(messages[index], text=QUIET)
                shown[job.delivery_id] = QUIET_STEP
                continue
            first = await begin_day(session, state, job.local_date)
            text = day_message(path, state, job.local_date, first)
            out[index] = replace(messages[index], text=text)
            shown[job.delivery_id] = day_step(path, state, job.local_date).id
        await remember(session, shown)
    return out


async def remember(session: AsyncSession, shown: dict[int, str]) -> None:
    """Records on each delivery row the step its message showed (`Delivery.step`): what
    /export lists, where the row's content was not what was sent. A retry writes the same."""
    by_step: dict[str, list[int]] = {}
    for delivery_id, step in shown.items():
        by_step.setdefault(step, []).append(delivery_id)
    for step, ids in by_step.items():
        await session.exec(update(Delivery).where(col(Delivery.id).in_(ids)).values(step=step))


async def _walking(store: Store, space_ids: Iterable[int]) -> set[int]:
    """Those of these spaces that chose a path, read (not written: most spaces have none, and
    on SQLite a write would queue behind the claims)."""
    wanted = set(space_ids)
    if not wanted:
        return set()
    async with store.read() as session:
        return set(await on_paths(session, wanted))


async def side_prompts(store: Store, library: Library, jobs: list[Job]) -> list[Outgoing | None]:
    """A sided partner's own prompt from the rotation, every other day, on Free practice only:
    on a path their side's steps come in their check-in instead (None: nothing sent)."""
    async with store.read() as session:
        chosen = await on_paths(session, (job.space_id for job in jobs))
    walking = {space_id for space_id, state in chosen.items() if path_of(state) is not None}
    return [None if job.space_id in walking else render(job, library) for job in jobs]


async def side_step(
    session: AsyncSession, member: Member, day: date, state: PathState | None = None
) -> Step | None:
    """The step for `member`'s side on `day`, on a path, if its week has one that day; only
    ever for their private chat (on the breach path it may name what happened). `state`: the
    space's, settled already for `day` (else it is settled here)."""
    if member.side not in SIDES:
        return None
    if state is None:
        state = await settle(session, member.space_id, day)
    path = path_of(state)
    if path is None or state is None or resting(state, day):
        return None
    found = path.steps(state.week, step_day(state, day), member.side)
    return found[0] if found else None


async def with_side_steps(
    store: Store, jobs: list[Job], messages: list[Outgoing]
) -> list[Outgoing]:
    """A sided partner's private check-in, on a path, with their side's step of the day (its
    row records the step)."""
    out = list(messages)
    walking = await _walking(store, (job.space_id for job in jobs if job.recipient))
    if not walking:
        return out
    mine = [(i, job) for i, job in enumerate(jobs) if job.recipient and job.space_id in walking]
    async with store.unit() as session:
        found = await session.exec(
            select(Member).where(col(Member.id).in_({job.recipient for _, job in mine}))
        )
        sided = {m.id: m for m in found.all() if m.side in SIDES}
        mine = [(index, job) for index, job in mine if job.recipient in sided]
        settled = await settle_all(session, ((job.space_id, job.local_date) for _, job in mine))
        shown: dict[int, str] = {}
        for index, job in mine:
            member, state = sided[job.recipient], settled.get(job.space_id)
            if state is None:
                continue
            step = await side_step(session, member, job.local_date, state)
            if step is not None:
                text = f"{out[index].text}\n\n{SIDE_HEAD} {step.text}"
                out[index] = replace(out[index], text=text)
                shown[job.delivery_id] = step.id
        await remember(session, shown)
    return out


def guide_lines(guide: Guide) -> list[str]:
    return [
        f"🗣 This week's talk: {guide.title}",
        f"1. Appreciations: {guide.appreciations}",
        f"2. What went well: {guide.went_well}",
        f"3. One matter, taking turns: {guide.matter}",
        f"4. A wish for next week: {guide.wish}",
    ]


async def look_back_lines(session: AsyncSession, space_id: int, day: date) -> list[str] | None:
    """For the weekly look back of a space on a path: where it is and the closing guide of the
    week it mostly looks back on (a week begun in the last few days closes the one before);
    [] while the path rests; None on Free practice."""
    state = await state_of(session, space_id)
    if state is None or state.path == FREE:
        return None
    path = paths().paths[state.path]
    week = state.week
    if state.week_started is not None and (day - state.week_started).days < CLOSES_BEFORE:
        if week == 1:
            # The path began only days ago: where they are, and its first week's talk comes
            # with the next look back (given now, that one would give it a second time).
            return [heading(path, 1)]
        week -= 1
    if not path.open_ended and week > path.weeks:
        return None
    if resting(state, day):
        return []
    return [heading(path, week), *guide_lines(paths().guide_for(path.id, week))]
