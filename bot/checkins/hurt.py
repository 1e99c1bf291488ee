"""The hurt partner's private question: how much the hurt intruded on their day. Asked after
their own check-in, in their private chat only; sealed at rest; shown to its author alone (their
private /progress, its chart, their export), never to the other partner anywhere."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import actions
from bot.checkins.answers import answer_of, find_checkin
from bot.content import Question
from bot.context import Ctx
from bot.errors import UserError
from bot.messages import Button, Outgoing
from bot.render import SCORES, day_label
from bot.store import CheckinAnswer, Delivery, Member, Space

# The side a partner chooses in /perspective as "I'm learning to trust again".
HURT_SIDE = "doubting"


def hurt_of(answer: CheckinAnswer) -> int | None:
    """The 1 to 5 its author tapped, or None. Only ever for its author's eyes."""
    return int(answer.hurt) if answer.hurt is not None and answer.hurt.isdecimal() else None


def asks(ctx: Ctx, answer: CheckinAnswer) -> bool:
    """Whether this tap is followed by the private question: in the hurt partner's own private
    chat (never a shared one, where the other could read it), once a day."""
    member = ctx.member
    return (
        ctx.private
        and member is not None
        and member.side == HURT_SIDE
        and ctx.library.hurt is not None
        and answer.hurt is None
    )


def question_message(ctx: Ctx, question: Question, delivery: int) -> Outgoing:
    scale = " · ".join(f"{s} {question.label(s)}" for s in SCORES)
    buttons = tuple(
        Button(str(s), actions.hurt(delivery, s), detail=question.label(s)) for s in SCORES
    )
    text = (
        f"🔒 {question.text}\n{scale}.\n"
        "Only you ever see this answer: never your partner, not even at the reveal. "
        "Your own /progress here charts it for you."
    )
    return ctx.whisper(text, buttons=buttons, protect=True)


async def tapped(ctx: Ctx, action: actions.Hurt) -> list[Outgoing]:
    """The hurt partner's answer, saved sealed on their own check-in answer for that day."""
    question = ctx.library.hurt
    if ctx.member is None or question is None or not ctx.private:
        raise UserError(
            "That question is answered in your private chat with me. Nothing was saved."
        )
    if not 1 <= action.score <= len(question.labels):
        raise UserError("Tap one of the numbers, 1 to 5, under the question. Nothing was saved.")
    delivery: Delivery = await find_checkin(ctx.session, ctx.space, action.delivery_id)
    answer = await answer_of(ctx.session, ctx.space, ctx.member, delivery.local_date)
    if answer is None:
        raise UserError("Answer that day's check-in first, then this one. Nothing was saved.")
    changed = answer.hurt is not None and hurt_of(answer) != action.score
    answer.hurt = str(action.score)
    answer.updated_at = ctx.now
    ctx.session.add(answer)
    verb = "changed to" if changed else "noted:"
    return [
        ctx.whisper(
            f"🔒 For {day_label(delivery.local_date)}, {verb} {action.score} "
            f"({question.label(action.score)}). Only you see it. Thank you for telling me.",
            protect=True,
        )
    ]


async def own_hurt(
    session: AsyncSession, space: Space, member: Member, since: date, until: date
) -> dict[date, int]:
    """The member's own answers to the private question, by day: for their eyes only."""
    rows = await session.exec(
        select(CheckinAnswer).where(
            CheckinAnswer.space_id == space.id,
            CheckinAnswer.member_id == member.id,
            CheckinAnswer.local_date >= since,
            CheckinAnswer.local_date <= until,
            col(CheckinAnswer.hurt).is_not(None),
        )
    )
    found = ((a.local_date, hurt_of(a)) for a in rows.all())
    return {day: score for day, score in found if score is not None}


def own_hurt_lines(hurt: dict[date, int], since: date, question: Question | None) -> list[str]:
    """Their private /progress's lines on it: the last days' answers, newest first."""
    recent = sorted(((d, s) for d, s in hurt.items() if d >= since), reverse=True)
    if not recent:
        return []
    days = " · ".join(f"{day_label(d)} {s}" for d, s in recent)
    scale = f" (1 {question.low} to 5 {question.high})" if question else ""
    return ["", f"🔒 Just for you, how much the hurt intruded{scale}: {days}"]
