"""Today's question answered in words: recorded privately, changed until the reveal, and
revealed together once both partners have answered (or passed), under the couple's /reveal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import actions
from bot.errors import UserError
from bot.messages import Button
from bot.paths.library import DailyQuestion
from bot.questions.today import by_id
from bot.render import day_label, one_line, without_reordering
from bot.store import Member, Once, QuestionAnswer, Space, day_row, done, once

MAX_WORDS = 1000


def reveal_key(day: date) -> str:
    return f"qreveal:{day.isoformat()}"


def took_part(answer: QuestionAnswer | None) -> bool:
    return answer is not None and (answer.text is not None or answer.passed)


def rule_of(space: Space, answer: QuestionAnswer) -> str:
    """As for check-ins: the rule the answer was given under, unless the space now says never."""
    return "never" if space.reveal == "never" else answer.reveal


def shown(space: Space, answer: QuestionAnswer, revealed: bool) -> bool:
    """Whether the other partner may read these words: only after the reveal, never under
    /reveal never, never words that held crisis words."""
    return (
        revealed
        and answer.text is not None
        and not answer.held
        and rule_of(space, answer) != "never"
    )


def clean(words: str) -> str:
    words = without_reordering(words).strip()
    if not words:
        raise UserError(
            "That answer was empty. Write a few words, for example: “The walk on Sunday.”"
        )
    if len(words) > MAX_WORDS:
        raise UserError(
            f"An answer can be up to {MAX_WORDS} characters; yours has {len(words)}. Try a "
            "shorter one; nothing was saved."
        )
    return words


async def answer_of(
    session: AsyncSession, space: Space, member: Member, day: date
) -> QuestionAnswer | None:
    found: QuestionAnswer | None = await day_row(session, QuestionAnswer, space, member, day)
    return found


async def revealed(session: AsyncSession, space: Space, day: date) -> bool:
    assert space.id is not None
    return await done(session, space.id, reveal_key(day))


async def row_for(
    session: AsyncSession,
    space: Space,
    member: Member,
    day: date,
    question: DailyQuestion,
    now: datetime,
) -> QuestionAnswer:
    """The member's row for the day, made when first needed; refused once the day is revealed."""
    assert space.id is not None and member.id is not None
    if await revealed(session, space, day):
        raise UserError(
            f"The answers to {day_label(day)}'s question are already out, so yours stays as it "
            "was. /answers shows them; tomorrow brings a new question."
        )
    row = await answer_of(session, space, member, day)
    if row is None:
        row = QuestionAnswer(
            space_id=space.id,
            member_id=member.id,
            local_date=day,
            question_id=question.id,
            reveal=space.reveal,
            answered_at=now,
            updated_at=now,
        )
    return row


@dataclass
class Outcome:
    row: QuestionAnswer
    changed: bool  # words or a pass given before were replaced
    complete_now: bool  # this completed the day: the answers go out now


async def finish(
    session: AsyncSession, space: Space, row: QuestionAnswer, partners: list[Member], now: datetime
) -> bool:
    """Saves the row; True when it completed the day (both took part) and the reveal is this
    caller's to send (marked once, so two answers at the same moment reveal once)."""
    assert space.id is not None
    session.add(row)
    await session.flush()
    if len(partners) < 2 or not any(p.id == row.member_id for p in partners):
        return False
    if not await all_took_part(session, space, row.local_date, partners):
        return False
    return await once(session, space.id, reveal_key(row.local_date), now)


async def all_took_part(
    session: AsyncSession, space: Space, day: date, partners: list[Member]
) -> bool:
    found = await session.exec(
        select(QuestionAnswer).where(
            QuestionAnswer.space_id == space.id,
            QuestionAnswer.local_date == day,
            col(QuestionAnswer.member_id).in_([p.id for p in partners]),
        )
    )
    return sum(1 for a in found.all() if took_part(a)) == len(partners)


async def day_rows(
    session: AsyncSession, space: Space, day: date, partners: list[Member]
) -> list[tuple[Member, QuestionAnswer]]:
    found = await session.exec(
        select(QuestionAnswer).where(
            QuestionAnswer.space_id == space.id, QuestionAnswer.local_date == day
        )
    )
    rows = {a.member_id: a for a in found.all()}
    return [(p, rows[p.id]) for p in partners if p.id in rows]


def said(member: Member, answer: QuestionAnswer, space: Space, viewer: Member | None) -> str:
    """One partner's line at the reveal or in /answers, as `viewer` may read it."""
    name = "You" if viewer is not None and member.id == viewer.id else one_line(member.display_name)
    mine = name == "You"
    if answer.passed and answer.text is None:
        return f"{name} passed on this one."
    if answer.text is None:
        return f"{name} didn't answer."
    if not mine and answer.held:
        return f"{name} kept their answer private this time."
    if not mine and rule_of(space, answer) == "never":
        return f"{name}'s answer stays with them (/reveal never)."
    return f"{name}: “{one_line(answer.text)}”"


def reveal_text(
    space: Space, day: date, question: DailyQuestion, pairs: list[tuple[Member, QuestionAnswer]]
) -> tuple[str, tuple[Button, ...]]:
    """The reveal, the same for both, with the reactions when there are words to react to."""
    if space.reveal == "never":
        return (
            f"💬 You've both answered {day_label(day)}'s question. Your answers stay with each "
            "of you (/reveal never).",
            (),
        )
    lines = [f"💬 {day_label(day)}'s question, answered by you both: {question.text}"]
    lines += [said(m, a, space, None) for m, a in pairs]
    words = [a for _, a in pairs if shown(space, a, True)]
    buttons = (
        (
            Button("❤️ Thank you", actions.today(day, "thanks")),
            Button("💬 Let's talk about this", actions.today(day, "talk")),
        )
        if words
        else ()
    )
    return "\n".join(lines), buttons


async def history(
    session: AsyncSession, space: Space, viewer: Member
) -> list[tuple[date, DailyQuestion | None, list[tuple[Member, QuestionAnswer]]]]:
    """Past questions as `viewer` may see them, newest first: days they answered or that were
    revealed; another's words only where revealed and shown."""
    keys = await session.exec(
        select(Once.key).where(Once.space_id == space.id, col(Once.key).startswith("qreveal:"))
    )
    out_days = {date.fromisoformat(k.split(":", 1)[1]) for k in keys.all()}
    found = await session.exec(
        select(QuestionAnswer, Member)
        .join(Member, col(Member.id) == QuestionAnswer.member_id)
        .where(QuestionAnswer.space_id == space.id)
        .order_by(col(QuestionAnswer.local_date).desc(), col(Member.id))
    )
    days: dict[date, list[tuple[Member, QuestionAnswer]]] = {}
    for answer, member in found.all():
        if member.id == viewer.id or answer.local_date in out_days:
            days.setdefault(answer.local_date, []).append((member, answer))
    return [
        (day, by_id().get(pairs[0][1].question_id), pairs)
        for day, pairs in days.items()
        if any(m.id == viewer.id for m, _ in pairs) or day in out_days
    ]


async def export_rows(
    session: AsyncSession, space: Space, member: Member | None, with_private: bool
) -> list[dict[str, Any]]:
    """For /export: the asker's own answers (their words where private things may go), and the
    other's only as revealed to them."""
    keys = await session.exec(
        select(Once.key).where(Once.space_id == space.id, col(Once.key).startswith("qreveal:"))
    )
    out_days = {date.fromisoformat(k.split(":", 1)[1]) for k in keys.all()}
    found = await session.exec(
        select(QuestionAnswer)
        .where(QuestionAnswer.space_id == space.id)
        .order_by(col(QuestionAnswer.local_date), col(QuestionAnswer.member_id))
    )
    rows: list[dict[str, Any]] = []
    for answer in found.all():
        mine = member is not None and answer.member_id == member.id
        out = answer.local_date in out_days
        if not mine and not out:
            continue
        row = answer.model_dump(exclude={"space_id", "text", "held", "asked_at"})
        question = by_id().get(answer.question_id)
        row["question"] = question.text if question else None
        if (mine and with_private) or (not mine and shown(space, answer, out)):
            row["text"] = answer.text
        rows.append(row)
    return rows
