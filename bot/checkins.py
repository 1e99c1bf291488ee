"""Check-ins: recording taps and notes, streaks, milestones and the progress summary."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.errors import UserError
from bot.render import day_label
from bot.store import CheckinAnswer, Delivery, Member, Space

MILESTONES = (3, 7, 14, 30, 60, 100)
MAX_NOTE = 1000


@dataclass(frozen=True)
class Recorded:
    """What a tap or a note changed, so the service can answer the member and the couple."""

    day: date
    score: int | None
    changed: bool  # a second tap that replaced an earlier score
    both_now: bool  # this answer made the day complete: two members have scored it
    streak: int


async def find_checkin(session: AsyncSession, space: Space, delivery_id: int) -> Delivery:
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None or delivery.space_id != space.id or delivery.kind != "checkin":
        raise UserError("That check-in isn't here any more. Send /checkin to get a fresh one.")
    return delivery


async def find_checkin_by_message(
    session: AsyncSession, space: Space, message_ref: str
) -> Delivery | None:
    result = await session.exec(
        select(Delivery).where(
            Delivery.space_id == space.id,
            Delivery.message_ref == message_ref,
            Delivery.kind == "checkin",
        )
    )
    return result.first()


async def _answer(
    session: AsyncSession, space: Space, member: Member, day: date
) -> CheckinAnswer | None:
    result = await session.exec(
        select(CheckinAnswer).where(
            CheckinAnswer.space_id == space.id,
            CheckinAnswer.member_id == member.id,
            CheckinAnswer.local_date == day,
        )
    )
    return result.first()


async def _scored_members(session: AsyncSession, space: Space, day: date) -> int:
    result = await session.exec(
        select(func.count()).where(
            CheckinAnswer.space_id == space.id,
            CheckinAnswer.local_date == day,
            col(CheckinAnswer.score).is_not(None),
        )
    )
    return int(result.one())


async def record(
    session: AsyncSession,
    space: Space,
    member: Member,
    delivery: Delivery,
    now: datetime,
    *,
    score: int | None = None,
    note: str | None = None,
) -> Recorded:
    """Saves a tap (score) or a note for the check-in's local day; one answer per member per day."""
    if score is not None and not 1 <= score <= 5:
        raise UserError("Scores go from 1 to 5. Tap one of the buttons on the check-in.")
    if note is not None:
        note = note.strip()
        if not note:
            raise UserError("That note was empty. Reply to the check-in with a few words.")
        if len(note) > MAX_NOTE:
            raise UserError(
                f"Notes can be up to {MAX_NOTE} characters; yours has {len(note)}. Try a shorter one."
            )
    day = delivery.local_date
    before = await _scored_members(session, space, day)
    answer = await _answer(session, space, member, day)
    changed = False
    if answer is None:
        assert space.id is not None and member.id is not None
        answer = CheckinAnswer(
            space_id=space.id,
            member_id=member.id,
            delivery_id=delivery.id,
            local_date=day,
            score=score,
            note=note,
            answered_at=now,
            updated_at=now,
        )
    else:
        if score is not None:
            changed = answer.score is not None and answer.score != score
            answer.score = score
        if note is not None:
            answer.note = note if not answer.note else f"{answer.note}\n{note}"[-MAX_NOTE:]
        answer.updated_at = now
    session.add(answer)
    await session.flush()
    after = await _scored_members(session, space, day)
    both_now = before < 2 <= after
    streak = await streak_at(session, space, day) if both_now else 0
    return Recorded(day, answer.score, changed, both_now, streak)


async def complete_days(
    session: AsyncSession, space: Space, since: date | None = None
) -> list[date]:
    """Days on which at least two members scored a check-in, newest first."""
    query = (
        select(col(CheckinAnswer.local_date))
        .where(CheckinAnswer.space_id == space.id, col(CheckinAnswer.score).is_not(None))
        .group_by(col(CheckinAnswer.local_date))
        .having(func.count() >= 2)
        .order_by(col(CheckinAnswer.local_date).desc())
    )
    if since is not None:
        query = query.where(CheckinAnswer.local_date >= since)
    return list((await session.exec(query)).all())


def count_streak(days: list[date], ending: date) -> int:
    """Days in a row, ending on `ending`, found in `days` (newest first)."""
    streak, expected = 0, ending
    for day in days:
        if day > expected:
            continue
        if day != expected:
            break
        streak += 1
        expected -= timedelta(days=1)
    return streak


async def streak_at(session: AsyncSession, space: Space, day: date) -> int:
    return count_streak(await complete_days(session, space), day)


async def current_streak(session: AsyncSession, space: Space, today: date) -> int:
    """The streak still alive today: it may end today or yesterday (today's check-in may be ahead)."""
    days = await complete_days(session, space)
    return max(count_streak(days, today), count_streak(days, today - timedelta(days=1)))


def milestone_text(streak: int) -> str | None:
    if streak not in MILESTONES:
        return None
    return (
        f"🎉 {streak} days in a row, both of you checked in. That is {streak} small promises kept. "
        "Take a moment to notice it together."
    )


async def progress_text(session: AsyncSession, space: Space, today: date) -> str:
    streak = await current_streak(session, space, today)
    week_start = today - timedelta(days=today.weekday())
    recent_start = today - timedelta(days=6)
    rows = (
        await session.exec(
            select(CheckinAnswer, Member)
            .join(Member, col(Member.id) == CheckinAnswer.member_id)
            .where(
                CheckinAnswer.space_id == space.id,
                CheckinAnswer.local_date >= min(week_start, recent_start),
            )
            .order_by(col(CheckinAnswer.local_date).desc(), col(Member.display_name))
        )
    ).all()
    complete_this_week = {
        a.local_date for a, _ in rows if a.local_date >= week_start and a.score is not None
    }
    by_day: dict[date, list[tuple[str, int | None, bool]]] = defaultdict(list)
    for answer, member in rows:
        if answer.local_date >= recent_start:
            by_day[answer.local_date].append((member.display_name, answer.score, bool(answer.note)))
    both_week = sum(
        1
        for d in complete_this_week
        if sum(1 for a, _ in rows if a.local_date == d and a.score is not None) >= 2
    )
    lines = [
        f"📈 Streak: {streak} day{'s' if streak != 1 else ''} in a row with both of you checking in.",
        f"This week: {both_week} day{'s' if both_week != 1 else ''} with both answers "
        f"({sum(1 for a, _ in rows if a.local_date >= week_start and a.score is not None)} answers in all).",
    ]
    next_goal = next((m for m in MILESTONES if m > streak), None)
    if next_goal:
        lines.append(f"Next milestone: {next_goal} days.")
    if by_day:
        lines.append("")
        lines.append("Recent check-ins (1 to 5, 📝 = with a note):")
        for day in sorted(by_day, reverse=True):
            parts = [
                f"{name} {score if score is not None else '–'}{' 📝' if note else ''}"
                for name, score, note in by_day[day]
            ]
            lines.append(f"{day_label(day)}: " + ", ".join(parts))
    else:
        lines.append("No check-in answers in the last 7 days. /checkin asks one now.")
    return "\n".join(lines)
