"""/tip, /topics and /together: what the daily prompts are drawn from, and one right now."""

from __future__ import annotations

from sqlmodel import col, select

from bot.command import Command, Kind, Option, Who
from bot.content import OPT_IN_TOPICS, TOPICS, fitting, pick_prompt, topic_key
from bot.context import Ctx
from bot.errors import UserError
from bot.messages import Outgoing
from bot.render import prompt_message, side_prompt_message
from bot.store import ContentHistory
from bot.timeparse import zone_from_name


async def cmd_tip(ctx: Ctx, args: str) -> list[Outgoing]:
    """A prompt now; in a partner's private chat it comes from their side, if they chose one."""
    assert ctx.space.id is not None
    side = ctx.member.side if ctx.private and ctx.member is not None else None
    member_id = (ctx.member.id or 0) if side and ctx.member is not None else 0
    cycle = ctx.member.side_cycle if side and ctx.member is not None else ctx.space.content_cycle
    rows = await ctx.session.exec(
        select(ContentHistory.prompt_id)
        .where(
            ContentHistory.space_id == ctx.space.id,
            ContentHistory.member_id == member_id,
            ContentHistory.cycle == cycle,
        )
        .order_by(col(ContentHistory.shown_at))
    )
    seen = list(rows.all())
    last = ctx.library.by_id.get(seen[-1]) if seen else None
    local_hour = ctx.now.astimezone(zone_from_name(ctx.space.timezone)).hour
    pick = pick_prompt(
        ctx.library,
        ctx.space.topics.split(","),
        ctx.space.last_topic if not side else (last.topic if last else None),
        set(seen),
        member_id or ctx.space.id,
        audience=side or "both",
        fits=fitting(local_hour, ctx.space.apart),
    )
    if pick.new_cycle:
        cycle += 1
    if side and ctx.member is not None:
        ctx.member.side_cycle = cycle
        ctx.session.add(ctx.member)
    else:
        ctx.space.content_cycle = cycle
        ctx.space.last_topic = pick.prompt.topic
        ctx.session.add(ctx.space)
    ctx.session.add(
        ContentHistory(
            space_id=ctx.space.id,
            member_id=member_id,
            prompt_id=pick.prompt.id,
            cycle=cycle,
            shown_at=ctx.now,
        )
    )
    if side:
        return [side_prompt_message(ctx.incoming.to, pick.prompt, ctx.today)]
    return [prompt_message(ctx.incoming.to, pick.prompt, ctx.today)]


def _topic_list(words: str) -> list[str]:
    keys: list[str] = []
    for word in [w for w in words.replace(";", ",").split(",") if w.strip()]:
        key = topic_key(word)
        if key is None:
            raise UserError(
                f"I don't know the topic “{word.strip()[:30]}”. Topics are: {', '.join(TOPICS)}. "
                "For example: /topics gratitude, patience"
            )
        keys.append(key)
    return keys


async def cmd_topics(ctx: Ctx, args: str) -> list[Outgoing]:
    chosen = [t for t in ctx.space.topics.split(",") if t in TOPICS]
    verb, _, rest = args.partition(" ")
    verb = verb.lower()
    if not args:
        lines = ["📚 Topics (✓ = in your rotation):"]
        lines += [
            f"{'✓' if key in chosen else '·'} {key}: {title}" for key, title in TOPICS.items()
        ]
        lines.append(
            "Choose with /topics gratitude, patience; or /topics add empathy, /topics drop patience, /topics all."
        )
        if off := [t for t in OPT_IN_TOPICS if t not in chosen]:
            lines.append(
                f"{', '.join(TOPICS[t] for t in off)} is off unless you want it: "
                f"/topics add {off[0]}."
            )
        return [ctx.reply("\n".join(lines))]
    if verb == "all":
        new = list(TOPICS)
    elif verb in ("add", "drop", "remove"):
        if not rest.strip():
            raise UserError(f"Which topic? For example: /topics {verb} gratitude")
        named = _topic_list(rest)
        new = (
            chosen + [t for t in named if t not in chosen]
            if verb == "add"
            else [t for t in chosen if t not in named]
        )
    else:
        new = _topic_list(args)
    new = [t for t in TOPICS if t in new]
    if not new:
        raise UserError("Keep at least one topic in the rotation. For example: /topics gratitude")
    ctx.space.topics = ",".join(new)
    ctx.session.add(ctx.space)
    return [ctx.reply("✅ Your topics: " + ", ".join(TOPICS[t] for t in new) + ".")]


TOGETHER = {
    "home": (False, "you share a home: every prompt can come, including ones for one place"),
    "apart": (True, "you live apart: only prompts that work at a distance come"),
}


async def cmd_together(ctx: Ctx, args: str) -> list[Outgoing]:
    word = args.strip().lower()
    if not word:
        now = "apart" if ctx.space.apart else "home"
        return [
            ctx.reply(
                f"🏠 Set to {now}: {TOGETHER[now][1]}. Change it with /together home "
                "or /together apart."
            )
        ]
    if word not in TOGETHER:
        raise UserError(
            "Say whether you live together or apart: /together home or /together apart."
        )
    ctx.space.apart = TOGETHER[word][0]
    ctx.session.add(ctx.space)
    return [ctx.reply(f"✅ Noted: {TOGETHER[word][1]}.")]


COMMANDS = (
    Command("tip", "A prompt right now", cmd_tip, "Daily rhythm"),
    Command(
        "topics",
        "See or choose prompt topics",
        cmd_topics,
        "Daily rhythm",
        "/topics [add|drop|all] [topics]",
        Who.PARTNER_TO_CHANGE,
        (
            Option(
                "action",
                "show the list, choose exactly these, add, drop, or use all",
                choices=(
                    ("show", ""),
                    ("choose", ""),
                    ("add", "add"),
                    ("drop", "drop"),
                    ("all", "all"),
                ),
            ),
            Option(
                "topics",
                "Topic names, separated by commas: gratitude, patience",
                Kind.TOPICS,
                max_length=200,
            ),
        ),
    ),
    Command(
        "together",
        "Living together or apart: picks prompts that fit",
        cmd_together,
        "Daily rhythm",
        "/together [home|apart]",
        Who.PARTNER_TO_CHANGE,
        (
            Option(
                "where",
                "home (you share one) or apart",
                choices=(("home", "home"), ("apart", "apart")),
            ),
        ),
    ),
)
