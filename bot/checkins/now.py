"""A check-in asked for now (/checkin): written as claimed by this process, sent after the
commit, to each partner where they answer."""

from __future__ import annotations

from sqlmodel import col, select

from bot.checkins.answers import done_day
from bot.context import AfterCommit, Ctx, partners_of
from bot.delivery import LEASE, OPEN, Job, Partner, checkin_targets
from bot.messages import Address, Outgoing
from bot.store import Delivery

ANSWERED = (
    "💛 You've both answered today's check-in. The next one comes tomorrow; /progress shows "
    "how the days went."
)
ALREADY_OUT = (
    "💬 Today's check-in is already out: answer it where it came (your private chat with me, "
    "once linked). One a day keeps it meaningful; /schedule shows when the next one comes."
)


async def checkin_now(ctx: Ctx) -> list[Outgoing]:
    """/checkin: today's check-in, once: never a second one that day (someone pressing it again
    and again would fill the partners' private chats), never after both have answered."""
    assert ctx.space.id is not None
    if await done_day(ctx.session, ctx.space, ctx.today):
        return [ctx.reply(ANSWERED)]
    out = await ctx.session.exec(
        select(Delivery.id).where(
            Delivery.space_id == ctx.space.id,
            Delivery.kind == "checkin",
            Delivery.local_date == ctx.today,
            col(Delivery.status).in_((*OPEN, "sent")),  # out, or on its way
        )
    )
    if out.first() is not None:
        return [ctx.reply(ALREADY_OUT)]
    ctx.after_commit.append(await prepare_checkin_now(ctx))
    return []


async def prepare_checkin_now(ctx: Ctx) -> AfterCommit:
    """Writes an on-demand check-in for every recipient, and returns the send for after commit."""
    assert ctx.space.id is not None
    partners = await partners_of(ctx.session, ctx.space)
    question = ctx.library.scored_question(ctx.space.question_id)
    home = Address(ctx.space.platform, ctx.space.chat_id)
    known = [
        Partner(p.id or 0, ctx.space.id, p.private_chat, p.side, p.side_cycle) for p in partners
    ]
    jobs: list[Job] = []
    for target in checkin_targets(home, ctx.space.direct, known):
        delivery = Delivery(
            space_id=ctx.space.id,
            kind="checkin",
            recipient=target.recipient,
            variant=target.variant,
            local_date=ctx.today,
            due_at=ctx.now,
            status="claimed",
            content_id=question.id,
            claimed_by=ctx.services.instance,
            lease_until=ctx.now + LEASE,
        )
        ctx.session.add(delivery)
        await ctx.session.flush()
        assert delivery.id is not None
        jobs.append(
            Job(
                delivery.id,
                ctx.space.id,
                "checkin",
                ctx.today,
                question.id,
                target.address,
                recipient=target.recipient,
                variant=target.variant,
            )
        )
    asked_here = any(j.address == ctx.incoming.to for j in jobs)

    async def send() -> list[Outgoing] | None:
        await ctx.services.send_jobs(jobs)
        if asked_here:
            return None
        return [ctx.whisper("💬 Sent to your private chats with me.")]

    return send
