"""The set-up after a space's first /start: the city (the one thing typed), a time of day with
buttons, then the path. Each step can be skipped, and typed commands keep working throughout."""

from __future__ import annotations

from datetime import time

from bot import actions
from bot.context import Ctx, schedules_of
from bot.errors import UserError
from bot.messages import Button, Outgoing
from bot.paths import commands as paths
from bot.schedules import commands as schedules
from bot.setup import waiting
from bot.store import once
from bot.timeparse import days_from_cron, format_days, parse_time, parse_zone
from bot.zonenames import ZoneChoice

# The set-up's times of day: each sets the daily prompt, and the check-in half an hour later.
TIMES = (("Morning 8:00", "0800"), ("Lunch 12:30", "1230"), ("Evening 20:00", "2000"))
SKIP = Button("Skip set-up", actions.setup("skip"))
PATH_CHOICE = (
    "A guided path carries you over weeks; Free practice keeps the daily mix of topics. Either "
    "of you can change it later with /path."
)
PATH_LINE = (
    "One more choice when you like: /path picks the path your daily steps follow "
    "(you can change it any time)."
)


def city_question(private: bool) -> str:
    how = "Type it" if private else "Reply to this message with it"
    return (
        "⚙️ Let's set you up in a few taps. First, which city are you in? "
        f"{how}, for example Berlin, Paris, France or New York. "
        "(Or skip: /settings does it all later, and typed commands work any time.)"
    )


TIME_QUESTION = (
    "When should your daily step come? The check-in follows half an hour later, "
    "for you each to tap how the day felt."
)


def time_buttons() -> tuple[Button, ...]:
    return (
        *(Button(label, actions.setup(code)) for label, code in TIMES),
        Button("Other", actions.setup("other")),
        SKIP,
    )


async def begin(ctx: Ctx) -> tuple[str, tuple[Button, ...]] | None:
    """The set-up's first question, for the first /start a space ever gets; None after that
    (the second partner joins a space whose set-up is under way or done)."""
    assert ctx.space.id is not None
    if not await once(ctx.session, ctx.space.id, "setup", ctx.now):
        return None
    await waiting.wait_for(ctx, "city")
    return city_question(ctx.private), (SKIP,)


async def forget_waits(ctx: Ctx) -> None:
    """Whatever the set-up asked this member, it no longer waits for (they typed a command)."""
    await waiting.forget(ctx)


async def typed(ctx: Ctx) -> list[Outgoing] | None:
    """Plain words from a member Tandem asked for their city or a time, read as that answer;
    None when nothing was asked (the words are then read as usual). A bad answer changes
    nothing, and the question stays open. In a shared chat, words not said to Tandem (a reply, a
    mention) get that error once: after that they are the couple's own."""
    stage = await waiting.waiting(ctx)
    if stage is None:
        return None
    text = ctx.incoming.text.strip()
    try:  # read first: nothing is written until the words read as the answer
        at = parse_time(text) if stage == "time" else None
        zone = parse_zone(text) if at is None else None
    except ZoneChoice as choice:
        # "York", "Portland": several places, or a word of the couple's own talk. Said to
        # Tandem, always offered; else only as the first stray words (below).
        if ctx.incoming.spoken_to or await waiting.tell_once(ctx):
            return schedules.offer_places(ctx, choice)
        return None
    except UserError as err:
        if ctx.incoming.spoken_to:
            raise
        # Words in a shared chat, not a reply to Tandem, may be the couple talking to each
        # other: the first that don't read as the answer get the error and how to answer, the
        # rest of the hour's chatter none. The question stays open all the while.
        if not await waiting.tell_once(ctx):
            return None
        how = "the time" if stage == "time" else "your city"
        return [
            ctx.whisper(f"{err.message}\n\n(Reply to my question with {how} when you're ready.)")
        ]
    if at is not None:
        return await choose_time(ctx, at)
    assert zone is not None
    [done] = await schedules.set_zone(ctx, zone)
    return await _zone_set(ctx, stage, done)


async def zone_chosen(ctx: Ctx, action: actions.ChooseZone) -> list[Outgoing]:
    """A place tapped among those an ambiguous name offered, by /timezone or the set-up."""
    stage = await waiting.waiting(ctx)
    [done] = await schedules.zone_chosen(ctx, action)
    return await _zone_set(ctx, stage, done)


async def _zone_set(ctx: Ctx, stage: str | None, done: Outgoing) -> list[Outgoing]:
    if stage not in ("city", "zone"):
        return [done]
    await waiting.forget(ctx)
    if stage == "zone":
        return [done]
    # Step 2: the time of day. The zone's reply already says which zone it chose.
    return [ctx.reply(f"{done.text}\n\n{TIME_QUESTION}", buttons=time_buttons())]


async def tapped(ctx: Ctx, action: actions.Setup) -> list[Outgoing]:
    if action.choice == "skip":
        await waiting.forget(ctx)
        return [
            ctx.reply(
                "Set-up skipped; nothing else was changed. /settings sets your city, times and "
                "more whenever you like, and typed commands such as /timezone Berlin work too."
            )
        ]
    if action.choice == "other":
        await waiting.wait_for(ctx, "time")
        return [
            ctx.reply(
                "Which time? Type it, for example 7:15, 18:45 or 9pm "
                "(the check-in comes half an hour later)."
            )
        ]
    hours, minutes = int(action.choice[:2]), int(action.choice[2:])
    if hours > 23 or minutes > 59:
        raise UserError("That time isn't one I offered. Tap one of the times, or type /remind 8pm.")
    return await choose_time(ctx, time(hours, minutes))


async def set_daily(ctx: Ctx, at: time) -> str:
    """The daily prompt at `at` and the check-in half an hour later, on the days already chosen
    (every day if none); returns how that reads: "20:00 and the check-in at 20:30 every day"."""
    kinds = await schedules_of(ctx.session, ctx.space)
    days = kinds["prompt"].weekdays if "prompt" in kinds else "mon,tue,wed,thu,fri,sat,sun"
    checkin = schedules.checkin_after(at)
    await schedules.cmd_remind(ctx, f"{at.strftime('%H:%M')} {days}")
    await schedules.checkin_following(ctx, f"{checkin.strftime('%H:%M')} {days}")
    return (
        f"the daily prompt at {at.strftime('%H:%M')} and the check-in at "
        f"{checkin.strftime('%H:%M')}, {format_days(days_from_cron(days))}"
    )


async def choose_time(ctx: Ctx, at: time) -> list[Outgoing]:
    """Step 2 answered: both daily times set; the set-up moves on to its last step."""
    await waiting.forget(ctx)
    said = await set_daily(ctx, at)
    done = (
        f"✅ All set: {said} ({ctx.space.timezone} time). "
        "/schedule shows what comes next, and /settings changes any of it."
    )
    return await path_step(ctx, done)


async def path_step(ctx: Ctx, done: str) -> list[Outgoing]:
    """The set-up's last step: the path, as /path offers it (Free practice among them). A space
    whose partners already chose keeps its choice: one line says /path changes it."""
    if await paths.chosen(ctx):
        return [ctx.reply(f"{done}\n{PATH_LINE}")]
    question = f"{done}\n\nLast step: which path should your daily steps follow?\n{PATH_CHOICE}"
    return [ctx.reply(question, buttons=paths.offer_buttons())]
