"""/progress: the streak and recent scores as far as the asker may see, with a chart."""

from __future__ import annotations

from bot.checkins.answers import progress_text
from bot.command import Command
from bot.context import Ctx, partners_of
from bot.lookback.weekly import chart_data
from bot.messages import Outgoing


async def cmd_progress(ctx: Ctx, args: str) -> list[Outgoing]:
    """The streak and recent scores, with the look back's chart when there are scores to show."""
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
    data = await chart_data(ctx.session, ctx.space, ctx.today, ctx.library)
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
        "Streak, recent check-ins and a chart, as far as you may see",
        cmd_progress,
        "The two of you",
    ),
)
