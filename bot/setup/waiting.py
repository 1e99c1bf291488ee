"""A question Tandem asked one member and waits to have answered in plain words (their city, a
time): kept per space and member in the `once` table, and forgotten after WAIT."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, delete, select

from bot.context import Ctx
from bot.schedule import as_utc
from bot.store import Once, done, once

WAIT = timedelta(hours=1)  # unanswered this long, the next words are words again, not an answer
# city: the set-up's first step (the time of day follows); zone: /settings' timezone (nothing
# follows); time: the set-up's "Other" time.
STAGES = ("city", "zone", "time")


def _keys(ctx: Ctx) -> list[str]:
    """The waits for this member, and the mark that a shared chat's words were told off once."""
    assert ctx.member is not None
    return [f"wait:{stage}:{ctx.member.id}" for stage in (*STAGES, "told")]


async def wait_for(ctx: Ctx, stage: str) -> None:
    """From now on (for WAIT), this member's next plain words answer `stage`."""
    assert ctx.space.id is not None and ctx.member is not None and stage in STAGES
    await forget(ctx)
    await once(ctx.session, ctx.space.id, f"wait:{stage}:{ctx.member.id}", ctx.now)


async def forget(ctx: Ctx) -> None:
    """Waits for nothing more from this member. Every typed command asks it, so it reads first:
    a command that changes nothing stays a read."""
    if ctx.member is None:
        return
    mine = (col(Once.space_id) == ctx.space.id, col(Once.key).in_(_keys(ctx)))
    if (await ctx.session.exec(select(Once.id).where(*mine))).first() is not None:
        await ctx.session.exec(delete(Once).where(*mine))


async def waiting(ctx: Ctx) -> str | None:
    """The stage this member's next plain words answer, or None (nothing asked, or too long ago)."""
    if ctx.member is None:
        return None
    found = await ctx.session.exec(
        select(Once).where(Once.space_id == ctx.space.id, col(Once.key).in_(_keys(ctx)))
    )
    for row in found.all():
        stage = row.key.split(":")[1]
        if stage in STAGES and ctx.now - as_utc(row.at) < WAIT:
            return stage
    return None


async def tell_once(ctx: Ctx) -> bool:
    """True the first time this wait gets words that don't answer it, said in a shared chat
    without replying to Tandem; False after that, until the next question."""
    assert ctx.space.id is not None and ctx.member is not None
    key = f"wait:told:{ctx.member.id}"
    if await done(ctx.session, ctx.space.id, key):  # read first: the chatter after stays a read
        return False
    return await once(ctx.session, ctx.space.id, key, ctx.now)
