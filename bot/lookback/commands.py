"""/progress: the days you both showed up and recent scores as far as the asker may see, with
a chart."""

from __future__ import annotations

from datetime import timedelta

from bot.chart import DAYS
from bot.checkins.answers import progress_text
from bot.checkins.hurt import own_hurt, own_hurt_lines
from bot.command import Command
from bot.context import Ctx, partners_of
from bot.lookback.weekly import chart_data
from bot.messages import Outgoing


async def cmd_progress(ctx: Ctx, args: str) -> list[Outgoing]:
    """The days both showed up and recent scores, with the look back's chart when there are
    scores to show."""
    viewer = ctx.member if ctx.private else None
    partners = await partners_of(ctx.session, ctx.space)
    if not partners:  # a chat with no couple (say, after /forget me): nothing of "both of you"
        return [
            ctx.reply(
                "Nothing to show here: no one has joined this chat as a partner. "
                "Send /start to begin, then /pair to bring your partner in."
            )
        ]
    text = await progress_text(ctx.session, ctx.space, ctx.today, viewer)
    if len(partners) == 1:  # the other left, or has not joined yet
        text = (
            f"Just you here for now, {partners[0].display_name}: days count when two partners "
            "check in (/pair brings your partner in).\n" + text
        )
    own = None
    if viewer is not None:  # the hurt partner's private answers: in their private chat alone
        since = ctx.today - timedelta(days=DAYS - 1)
        hurt = await own_hurt(ctx.session, ctx.space, viewer, since, ctx.today)
        text = "\n".join(
            [text, *own_hurt_lines(hurt, ctx.today - timedelta(days=6), ctx.library.hurt)]
        )
        own = (f"{viewer.display_name}: the hurt (only you)", hurt) if hurt else None
    data = await chart_data(ctx.session, ctx.space, ctx.today, ctx.library, own)
    if data is None:
        return [ctx.reply(text, protect=True)]
    reply, services, name = ctx.reply, ctx.services, f"progress-{ctx.today.isoformat()}.png"

    async def with_chart() -> list[Outgoing]:
        # Drawn after the transaction: a chart never holds up anyone else's writes.
        picture = await services.picture(data, name)
        summary = f"\n🖼 {data.summary()}" if picture else ""
        return [reply(text + summary, attachment=picture, protect=True)]

    ctx.after_commit.append(with_chart)
    return []


COMMANDS = (
    Command(
        "progress",
        "Days you both showed up, recent check-ins and a chart",
        cmd_progress,
        "The two of you",
    ),
)
