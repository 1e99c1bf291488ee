"""/path and its buttons: choosing a guided path (or Free practice), where the couple is, the
pace, repeating a stage, stopping, and ending a rest from couple exercises early."""

from __future__ import annotations

from datetime import timedelta

from bot import actions
from bot.command import Command, Option, Who
from bot.context import Ctx, partners_of, schedules_of, shared_addresses
from bot.errors import UserError
from bot.messages import Button, Outgoing
from bot.paths.library import PATH_IDS
from bot.paths.progress import (
    FREE,
    PACES,
    TAKEN_PART,
    choose,
    lift,
    path_of,
    paths,
    repeat_stage,
    resting,
    settle,
    state_of,
    walked,
)
from bot.store import PathState
from bot.timeparse import zone_from_name

FREE_NAME = "Free practice"
FREE_SUMMARY = "Today's topic rotation, no weeks to follow."
WORDS = {
    "breach": "breach",
    "worry": "worry",
    "strong": "strong",
    "free": "free",
    "slower": "slower",
    "slow": "slower",
    "normal": "normal",
    "faster": "normal",
    "repeat": "repeat",
    "again": "repeat",
    "change": "change",
    "stop": "stop",
    "resume": "resume",
}
EXAMPLE = (
    "Try /path to see the paths, /path breach, /path worry, /path strong, /path free, "
    "/path slower, /path repeat or /path stop."
)
RESTING = (
    "🌿 Your path is resting for a few days: the daily step is a quiet one, with nothing to do "
    "together. It picks up again by itself."
)
NO_STEP_TIME = "\nThe steps come with your daily prompt: set its time with /remind 8pm."


def offer_buttons() -> tuple[Button, ...]:
    found = paths().paths
    return (
        *(Button(found[p].name, actions.path_choice(p), detail=found[p].summary) for p in PATH_IDS),
        Button(FREE_NAME, actions.path_choice(FREE), detail=FREE_SUMMARY),
    )


def offer_text(state: PathState | None) -> str:
    lines = ["🧭 Guided paths: a few small steps a week, in an order that builds."]
    for path in paths().paths.values():
        lines.append(f"• {path.name}: {path.summary}")
    lines.append(f"• {FREE_NAME}: {FREE_SUMMARY}")
    current = path_of(state)
    if walked(state):
        assert state is not None
        name = paths().paths[state.path].name
        lines.append(f"\nYou've walked the whole of {name}. 🌿 You're on Free practice now.")
    elif current is not None:
        lines.append(
            f"\nYou're on {current.name} now. Another path starts from its first week; either "
            "of you can choose, and you'll both hear."
        )
    else:
        lines.append(f"\nYou're on {FREE_NAME} now. Either of you can choose; you'll both hear.")
    return "\n".join(lines)


def where_buttons(state: PathState) -> tuple[Button, ...]:
    pace = (
        Button("Normal pace", actions.path_choice("normal"))
        if state.pace == "slower"
        else Button("Slower pace", actions.path_choice("slower"))
    )
    return (
        pace,
        Button("Repeat this stage", actions.path_choice("repeat")),
        Button("Change path", actions.path_choice("change")),
        Button("Stop the path", actions.path_choice("stop")),
    )


def where_text(ctx: Ctx, state: PathState) -> str:
    path = path_of(state)
    assert path is not None
    week = path.week_at(state.week)
    pace = PACES[state.pace]
    lines = [f"🧭 {path.name}", path.position(state.week), f"This week: {week.theme}."]
    if resting(state, ctx.today):
        lines.append(RESTING)
    elif state.week_started is None:
        lines.append("It starts with your next daily step.")
    lines.append(
        f"Pace: {pace.name}. A week moves on once you've both taken part on {TAKEN_PART} of "
        f"its days, after {pace.length} days at the soonest and {pace.cap} at the latest. A "
        "missed day is just a missed day."
    )
    return "\n".join(lines)


async def chosen(ctx: Ctx) -> bool:
    """Whether a partner has chosen a path (Free practice included) for this space."""
    assert ctx.space.id is not None
    return await state_of(ctx.session, ctx.space.id) is not None


async def _state(ctx: Ctx) -> PathState | None:
    assert ctx.space.id is not None
    return await settle(ctx.session, ctx.space.id, ctx.today)


async def cmd_path(ctx: Ctx, args: str) -> list[Outgoing]:
    word = args.strip().lower()
    if not word:
        state = await _state(ctx)
        if path_of(state) is None:
            return [ctx.reply(offer_text(state), buttons=offer_buttons())]
        assert state is not None
        return [ctx.reply(where_text(ctx, state), buttons=where_buttons(state))]
    choice = WORDS.get(word)
    if choice is None:
        raise UserError(f"I don't know that one. {EXAMPLE}")
    return await act(ctx, choice)


async def tapped(ctx: Ctx, action: actions.PathChoice) -> list[Outgoing]:
    return await act(ctx, action.choice)


async def act(ctx: Ctx, choice: str) -> list[Outgoing]:
    assert ctx.space.id is not None
    if choice in PATH_IDS or choice == FREE:
        return await _chosen(ctx, choice)
    if choice == "change":
        return [ctx.reply(offer_text(await _state(ctx)), buttons=offer_buttons())]
    state = await _state(ctx)
    path = path_of(state)
    if choice == "resume":
        return await _resume(ctx, state)
    if path is None or state is None:
        raise UserError(
            "You're on Free practice, so there's no path to change yet. Choose one with /path."
        )
    if choice in ("slower", "normal"):
        state.pace = choice
        ctx.session.add(state)
        said = (
            "🐢 A slower pace: each week takes 10 to 14 days."
            if choice == "slower"
            else "🌿 The usual pace: each week takes 7 to 10 days."
        )
        return await _tell_both(ctx, f"{said} ({_who(ctx)} chose it.)")
    if choice == "repeat":
        first = repeat_stage(state, path)
        ctx.session.add(state)
        stage = path.stage_of(first).name
        return await _tell_both(
            ctx,
            f"🔁 {_who(ctx)} chose to walk “{stage}” again. It starts over with your next daily "
            f"step: {path.position(first)}.",
        )
    # stop
    await choose(ctx.session, ctx.space.id, FREE, ctx.member.id if ctx.member else None, ctx.now)
    return await _tell_both(
        ctx,
        f"⏸ {_who(ctx)} stopped the path; you're on {FREE_NAME}, today's topic rotation. "
        "/path starts one again whenever you like.",
    )


def _who(ctx: Ctx) -> str:
    return ctx.member.display_name if ctx.member is not None else "One of you"


async def _chosen(ctx: Ctx, choice: str) -> list[Outgoing]:
    assert ctx.space.id is not None
    member_id = ctx.member.id if ctx.member is not None else None
    await choose(ctx.session, ctx.space.id, choice, member_id, ctx.now)
    if choice == FREE:
        line = (
            f"🌱 {_who(ctx)} chose {FREE_NAME}: your daily step comes from today's topic "
            "rotation. /path shows the guided paths whenever you like."
        )
    else:
        path = paths().paths[choice]
        line = f"🧭 {_who(ctx)} chose a path for you both. {path.chosen}"
        if "prompt" not in await schedules_of(ctx.session, ctx.space):
            line += NO_STEP_TIME
    return await _tell_both(ctx, line)


async def _tell_both(ctx: Ctx, line: str) -> list[Outgoing]:
    """A change to the path, told where both partners read it: the shared space, or (with no
    group) each one's private chat; the one who chose sees it where they asked too."""
    everyone = shared_addresses(ctx.space, await partners_of(ctx.session, ctx.space))
    out = [Outgoing(address, line) for address in everyone]
    if ctx.incoming.to not in everyone:
        out.insert(0, ctx.reply(line))
    return out


async def _resume(ctx: Ctx, state: PathState | None) -> list[Outgoing]:
    """Only the person the rest was for ends it early, and only in their private chat; to
    anyone else it looks like nothing is resting at all (the reason is theirs)."""
    mine = (
        state is not None
        and ctx.member is not None
        and state.rest_member == ctx.member.id
        and resting(state, ctx.today)
    )
    if not mine:
        if state is not None and resting(state, ctx.today):
            # Resting for someone else: said as /path says it, never whose rest it is or why.
            return [ctx.whisper(RESTING)]
        return [
            ctx.whisper("Nothing to pick up again: your path is going as usual. /path shows it.")
        ]
    assert state is not None
    # Today counts as rested if today's (quiet) step has gone out already.
    step = (await schedules_of(ctx.session, ctx.space)).get("prompt")
    local = ctx.now.astimezone(zone_from_name(ctx.space.timezone)).strftime("%H:%M")
    gone = step is not None and local >= step.local_time
    lift(state, ctx.today + timedelta(days=1) if gone else ctx.today)
    ctx.session.add(state)
    return [
        ctx.whisper(
            "🌿 The path's steps for the two of you come back from your next daily step. Go "
            "gently; /support is there whenever you need it."
        )
    ]


COMMANDS = (
    Command(
        "path",
        "Guided paths over weeks: choose one, or see where you are",
        cmd_path,
        "Daily rhythm",
        "/path [breach|worry|strong|free|slower|repeat|stop]",
        Who.PARTNER_TO_CHANGE,
        (
            Option(
                "choice",
                "a path to choose, or a change to the one you're on",
                choices=(
                    ("show", ""),
                    ("Rebuilding after a breach", "breach"),
                    ("Worry without a breach", "worry"),
                    ("Keeping trust strong", "strong"),
                    ("Free practice", "free"),
                    ("slower pace", "slower"),
                    ("normal pace", "normal"),
                    ("repeat this stage", "repeat"),
                    ("stop", "stop"),
                ),
            ),
        ),
    ),
)
