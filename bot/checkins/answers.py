"""Check-ins: private answers, the reveal once every partner has answered, the days both showed
up (rest days never break the count) and progress."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery import OUT
from bot.errors import UserError
from bot.render import day_label, one_line, without_reordering
from bot.store import (
    CheckinAnswer,
    Delivery,
    Member,
    Once,
    Space,
    day_row,
    done,
    lock_space,
    once,
)

MILESTONES = (3, 7, 14, 30, 60, 100)
# "Days you both showed up" counts the days both partners checked in, and rest days never break
# it: rebuilding trust is not a game of unbroken runs, and a hard day off must not cost a couple
# their count. Up to REST_DAYS missed days in any REST_WINDOW days in a row are rest days; only a
# missed day beyond that starts the count anew.
REST_DAYS = 2
REST_WINDOW = 7
MAX_NOTE = 1000
REVEAL_MODES = {
    "together": "both scores are shown here once you've both answered",
    "never": "only “you've both checked in” is shown; each score stays with its author",
    "instant": "each score is shown here as soon as it's tapped",
}


def score_of(answer: CheckinAnswer) -> int | None:
    """The 1 to 5 tapped; None for "Skip today" or only a note."""
    return int(answer.tap) if answer.tap is not None and answer.tap.isdecimal() else None


def skipped(answer: CheckinAnswer) -> bool:
    return answer.tap == SKIP


def set_tap(answer: CheckinAnswer, score: int | None, skip: bool) -> None:
    answer.tap = SKIP if skip else (str(score) if score is not None else None)
    answer.took_part = answer.tap is not None


SKIP = "skip"


def reveal_key(day: date) -> str:
    return f"reveal:{day.isoformat()}"


def nudge_key(day: date, member_id: int) -> str:
    return f"nudge:{day.isoformat()}:{member_id}"


@dataclass
class Recorded:
    """What a tap or a note changed, so the service can answer the person and the couple."""

    answer: CheckinAnswer
    day: date
    changed: bool  # a second tap that replaced an earlier score
    complete_now: bool  # this answer completed the day: every partner has answered
    revealed: bool  # the day's answers are out (now or earlier)
    shown_up: int  # days both showed up, counted to this day (0 unless complete_now)
    waiting_for: list[Member] = field(default_factory=list)  # partners yet to answer


async def find_checkin(session: AsyncSession, space: Space, delivery_id: int) -> Delivery:
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None or delivery.space_id != space.id or delivery.kind != "checkin":
        raise UserError("That check-in isn't here any more. Send /checkin to get a fresh one.")
    return delivery


async def find_checkin_by_message(
    session: AsyncSession, space: Space, message_ref: str, recipient: int
) -> Delivery | None:
    """The check-in a reply answers; message ids repeat across chats, so the recipient counts."""
    result = await session.exec(
        select(Delivery).where(
            Delivery.space_id == space.id,
            Delivery.message_ref == message_ref,
            Delivery.kind == "checkin",
            Delivery.recipient == recipient,
        )
    )
    return result.first()


async def answer_of(
    session: AsyncSession, space: Space, member: Member, day: date
) -> CheckinAnswer | None:
    found: CheckinAnswer | None = await day_row(session, CheckinAnswer, space, member, day)
    return found


def _took_part(answer: CheckinAnswer | None) -> bool:
    return answer is not None and answer.took_part


def quoted_note(note: str) -> str:
    """A note as it is quoted inside one of Tandem's lines (see one_line)."""
    return one_line(note)


def clean_note(note: str) -> str:
    note = without_reordering(note).strip()
    if not note:
        raise UserError("That note was empty. Reply to the check-in with a few words.")
    if len(note) > MAX_NOTE:
        raise UserError(
            f"Notes can be up to {MAX_NOTE} characters; yours has {len(note)}. Try a shorter one."
        )
    return note


async def record(
    session: AsyncSession,
    space: Space,
    member: Member,
    partners: list[Member],
    delivery: Delivery | date,
    now: datetime,
    *,
    score: int | None = None,
    skip: bool = False,
    note: str | None = None,
    share_note: bool = False,
) -> Recorded:
    """Saves a tap (a score or a skip) or a note for the check-in's day (or, for words kept
    from a private chat, that day); one answer a day each."""
    if score is not None and not 1 <= score <= 5:
        raise UserError("Scores go from 1 to 5. Tap one of the buttons on the check-in.")
    if note is not None:
        note = clean_note(note)
    assert space.id is not None and member.id is not None
    await lock_space(session, space)
    day = delivery if isinstance(delivery, date) else delivery.local_date
    delivery_id = None if isinstance(delivery, date) else delivery.id
    was_revealed = await done(session, space.id, reveal_key(day))
    answer = await answer_of(session, space, member, day)
    tapped = score is not None or skip
    if tapped and was_revealed and answer is not None:
        said = "skipped" if skipped(answer) else f"{score_of(answer)}/5"
        raise UserError(
            f"The answers for {day_label(day)} are already out, so yours stays as it was ({said}). "
            "Tomorrow's check-in is a fresh start."
        )
    changed = False
    if answer is None:
        answer = CheckinAnswer(
            space_id=space.id,
            member_id=member.id,
            delivery_id=delivery_id,
            local_date=day,
            answered_at=now,
            updated_at=now,
            reveal=space.reveal,
        )
    if tapped:
        changed = _took_part(answer) and (score_of(answer) != score or skipped(answer) != skip)
        set_tap(answer, score, skip)
    if note is not None:
        combined = note if not answer.note else f"{answer.note}\n{note}"
        if len(combined) > MAX_NOTE:
            # Appending never drops earlier words unasked: the addition is refused, whole.
            room = MAX_NOTE - len(answer.note or "") - 1
            raise UserError(
                f"Your note for {day_label(day)} is nearly full ({MAX_NOTE} characters in all), "
                f"so this addition wasn't saved: it has {len(note)}, and there's room for "
                f"{max(room, 0)} more. Try a shorter one."
            )
        answer.note = combined
        answer.share_note = answer.share_note or share_note
    answer.updated_at = now
    session.add(answer)
    await session.flush()
    waiting = [p for p in partners if p.id != member.id]
    if waiting:
        others = await session.exec(
            select(CheckinAnswer).where(
                CheckinAnswer.space_id == space.id,
                CheckinAnswer.local_date == day,
                col(CheckinAnswer.member_id).in_([p.id for p in waiting]),
            )
        )
        answered = {a.member_id for a in others.all() if _took_part(a)}
        waiting = [p for p in waiting if p.id not in answered]
    is_partner = any(p.id == member.id for p in partners)
    complete = tapped and is_partner and len(partners) >= 2 and not waiting and _took_part(answer)
    complete_now = complete and await once(session, space.id, reveal_key(day), now)
    shown_up = await shown_up_at(session, space, day) if complete_now else 0
    return Recorded(
        answer, day, changed, complete_now, was_revealed or complete_now, shown_up, waiting
    )


async def done_day(session: AsyncSession, space: Space, day: date) -> bool:
    assert space.id is not None
    return await done(session, space.id, reveal_key(day))


async def day_answers(
    session: AsyncSession, space: Space, day: date
) -> list[tuple[Member, CheckinAnswer]]:
    rows = await session.exec(
        select(Member, CheckinAnswer)
        .join(CheckinAnswer, col(CheckinAnswer.member_id) == Member.id)
        .where(CheckinAnswer.space_id == space.id, CheckinAnswer.local_date == day)
        .order_by(col(Member.id))
    )
    return [(m, a) for m, a in rows.all()]


def _said(answer: CheckinAnswer) -> str:
    return "skipped today" if skipped(answer) else f"{score_of(answer)}/5"


def shared_note_lines(pairs: list[tuple[Member, CheckinAnswer]]) -> list[str]:
    return [
        f"📝 {m.display_name}: “{quoted_note(a.note)}”" for m, a in pairs if a.note and a.share_note
    ]


def reveal_text(
    space: Space, day: date, pairs: list[tuple[Member, CheckinAnswer]], shown_up: int
) -> str:
    """What the couple sees once every partner has answered, by the space's reveal rule."""
    lines = [f"💛 You've both checked in for {day_label(day)}. {shown_up_line(shown_up)}"]
    if space.reveal != "never":
        # An answer given under /reveal never stays unsaid, even if the rule changed since.
        out = [(m, a) for m, a in pairs if rule_of(space, a) != "never"]
        if said := " · ".join(f"{m.display_name} {_said(a)}" for m, a in out if _took_part(a)):
            lines.append(said)
        if gap := far_apart_line([score_of(a) for _, a in out]):
            lines.append(gap)
        lines += shared_note_lines(out)
    if milestone := milestone_text(shown_up):
        lines.append(milestone)
    return "\n".join(lines)


FAR_APART = 2  # scores this far apart (2 against 4) get one gentle line


def far_apart_line(scores: list[int | None]) -> str | None:
    """Two partners who saw the day far apart get one line that invites a kind question, never a
    verdict (a bare 2/5 beside a 4/5 reads as a grade)."""
    given = [s for s in scores if s is not None]
    if len(given) < 2 or max(given) - min(given) < FAR_APART:
        return None
    return (
        "You two saw the day quite differently. That's worth a kind question, not a verdict: "
        "“What made the day feel that way for you?”"
    )


async def complete_days(session: AsyncSession, space: Space) -> list[date]:
    """Days on which every partner answered (and the answers were revealed), newest first."""
    keys = await session.exec(
        select(Once.key).where(Once.space_id == space.id, col(Once.key).startswith("reveal:"))
    )
    return sorted((date.fromisoformat(k.split(":", 1)[1]) for k in keys.all()), reverse=True)


async def asked_days(session: AsyncSession, space: Space) -> set[date]:
    """The local days a check-in went out to this couple (at its time, or asked for with
    /checkin): only those can be missed. A day with none (paused, the check-in off that day,
    or the bot down) is no day of theirs to miss."""
    found = await session.exec(
        select(col(Delivery.local_date))
        .where(
            Delivery.space_id == space.id,
            Delivery.kind == "checkin",
            col(Delivery.status).in_(OUT),
        )
        .distinct()
    )
    return set(found.all())


def count_shown_up(days: list[date], ending: date, asked: Collection[date] | None = None) -> int:
    """Days both showed up (found in `days`, newest first), counted back from `ending` through
    rest days: the count ends only at a missed day that is the (REST_DAYS + 1)th missed day
    within REST_WINDOW days in a row. With `asked`, a day no check-in went out on is passed
    over: it neither counts nor is missed."""
    complete = set(days)
    if not complete:
        return 0
    missed: list[date] = []  # within REST_WINDOW of the day looked at
    count, day, first = 0, ending, min(complete)
    while day >= first:
        if day in complete:
            count += 1
        elif asked is None or day in asked:
            missed = [m for m in missed if (m - day).days < REST_WINDOW] + [day]
            if len(missed) > REST_DAYS:
                break
        day -= timedelta(days=1)
    return count


def shown_up_until(days: list[date], today: date, asked: Collection[date] | None = None) -> int:
    """The count as it stands today: today's check-in may still be ahead, so an unanswered
    today is no rest day yet."""
    return count_shown_up(days, today if today in days else today - timedelta(days=1), asked)


async def shown_up_at(session: AsyncSession, space: Space, day: date) -> int:
    days = await complete_days(session, space)
    return count_shown_up(days, day, await asked_days(session, space))


def shown_up_line(count: int) -> str:
    return f"Days you both showed up: {count}."


def milestone_text(count: int) -> str | None:
    if count not in MILESTONES:
        return None
    return (
        f"🎉 {count} days you both showed up. Each one was a choice to come back to this. "
        "Take a moment to notice it together."
    )


def rule_of(space: Space, answer: CheckinAnswer) -> str:
    """The /reveal rule an answer is shown by: the one it was given under, unless the space has
    since chosen never. Loosening /reveal never shows an answer given under a stricter rule, so
    switching to instant or together cannot be used to read back what was kept private."""
    return "never" if space.reveal == "never" else answer.reveal


def shown(space: Space, answer: CheckinAnswer, revealed: set[date]) -> bool:
    """Whether the other partner may see this answer (`revealed`: the days both answered)."""
    rule = rule_of(space, answer)
    return rule == "instant" or (rule == "together" and answer.local_date in revealed)


def visible(
    space: Space, viewer: Member | None, revealed: set[date]
) -> Callable[[Member, CheckinAnswer], bool]:
    """Which answers a viewer may see: their own, and others' only once revealed (not under never)."""

    def may_see(member: Member, answer: CheckinAnswer) -> bool:
        if viewer is not None and member.id == viewer.id:
            return True
        return shown(space, answer, revealed)

    return may_see


async def progress_text(
    session: AsyncSession, space: Space, today: date, viewer: Member | None
) -> str:
    """The days both showed up and recent scores; `viewer` (in their private chat) also sees
    their own."""
    days = await complete_days(session, space)
    shown_up = shown_up_until(days, today, await asked_days(session, space))
    week_start = today - timedelta(days=today.weekday())
    recent_start = today - timedelta(days=6)
    revealed = {d for d in days if d >= min(week_start, recent_start)}
    rows = (
        await session.exec(
            select(CheckinAnswer, Member)
            .join(Member, col(Member.id) == CheckinAnswer.member_id)
            .where(CheckinAnswer.space_id == space.id, CheckinAnswer.local_date >= recent_start)
            .order_by(col(CheckinAnswer.local_date).desc(), col(Member.id))
        )
    ).all()
    may_see = visible(space, viewer, revealed)
    by_day: dict[date, list[str]] = defaultdict(list)
    for answer, member in rows:
        if not _took_part(answer):
            if answer.note and viewer is not None and member.id == viewer.id:
                # Words kept from the private chat on a day with no check-in tapped: theirs.
                by_day[answer.local_date].append(f"{member.display_name} 📝 (a note)")
            continue
        if not may_see(member, answer):
            continue
        shown_note = answer.note and (answer.share_note or (viewer and member.id == viewer.id))
        by_day[answer.local_date].append(
            f"{member.display_name} {_said(answer)}{' 📝' if shown_note else ''}"
        )
    both_week = sum(1 for d in revealed if d >= week_start)
    lines = [
        f"📈 {shown_up_line(shown_up)} Rest days never break the count "
        f"(up to {REST_DAYS} in any {REST_WINDOW} days).",
        f"This week: {both_week} day{'s' if both_week != 1 else ''} with both answers.",
    ]
    next_goal = next((m for m in MILESTONES if m > shown_up), None)
    if next_goal:
        lines.append(f"Next milestone: {next_goal} days.")
    if by_day:
        lines.append("")
        lines.append("Recent check-ins (1 to 5, 📝 = with a note):")
        for day in sorted(by_day, reverse=True):
            lines.append(f"{day_label(day)}: " + ", ".join(by_day[day]))
    elif space.reveal == "never" and viewer is None:
        lines.append("Scores stay with their authors here (/reveal never).")
    else:
        lines.append("No answers to show from the last 7 days. /checkin asks one now.")
    return "\n".join(lines)
