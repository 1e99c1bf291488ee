"""/remind, /checkin, /weekly, /timezone, /schedule, /pause and /resume: the couple's rhythm."""

from __future__ import annotations

import zoneinfo
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from bot import actions
from bot.checkins.answers import REVEAL_MODES
from bot.checkins.now import checkin_now
from bot.command import Command, Kind, Option, Who
from bot.content import TOPICS
from bot.context import Ctx, partners_of, reschedule, schedules_of, shared_addresses
from bot.errors import UserError
from bot.messages import Button, Outgoing
from bot.render import day_label, local_when
from bot.schedule import FAR_FUTURE
from bot.store import Schedule, done, once
from bot.timeparse import (
    Zone,
    days_from_cron,
    days_to_cron,
    format_days,
    parse_days,
    parse_pause,
    parse_time,
    parse_zone,
    zone_from_name,
)
from bot.zonenames import ZoneChoice

KIND_NAMES = {
    "prompt": "Daily prompt",
    "checkin": "Daily check-in",
    "weekly": "Weekly look back",
}


DAILY = ("prompt", "checkin")
# What /pause pauses: a couple who asks for quiet gets quiet, the weekly look back included.
PAUSED = (*DAILY, "weekly")


# The rhythm a space gets as soon as it has a timezone (set by /timezone, a tapped place or the
# set-up's city), for each daily time nobody has chosen or turned off: the prompt in the evening,
# when most couples are together, and the check-in half an hour later, once they have tried it.
DEFAULT_PROMPT = time(20, 0)
CHECKIN_AFTER = timedelta(minutes=30)


def checkin_after(prompt: time) -> time:
    """The check-in a little after the prompt, on the same local day (23:59 at the latest)."""
    later = datetime.combine(date(2000, 1, 1), prompt) + CHECKIN_AFTER
    return later.time() if later.day == 1 else time(23, 59)


EXAMPLES = {"prompt": "/remind 8pm", "checkin": "/checkin 9pm", "weekly": "/weekly sun 19:00"}


def pause_of(schedules: dict[str, Schedule]) -> datetime | None:
    pauses = [s.paused_until for s in schedules.values() if s.paused_until is not None]
    return max(pauses) if pauses else None


def _reschedule(ctx: Ctx, schedule: Schedule) -> None:
    reschedule(ctx.session, schedule, ctx.space.timezone, ctx.now)


def describe_schedule(ctx: Ctx, schedule: Schedule) -> str:
    days = format_days(days_from_cron(schedule.weekdays))
    line = f"{KIND_NAMES[schedule.kind]}: {schedule.local_time} {days}"
    if schedule.next_due_at is None:
        return f"{line} (paused until you /resume)"
    return f"{line}, next {local_when(schedule.next_due_at, ctx.space.timezone, ctx.now)}"


def _parse_time_and_days(args: str, usage: str) -> tuple[time, frozenset[int]]:
    words = args.split()
    if not words:
        raise UserError(usage)
    for split in (2, 1):  # "8:30 pm weekdays": the time may be two words
        if len(words) >= split:
            try:
                at = parse_time(" ".join(words[:split]))
            except UserError:
                if split == 1:
                    raise
                continue
            return at, parse_days(" ".join(words[split:]))
    raise UserError(usage)


async def _set_schedule(
    ctx: Ctx, kind: str, args: str, usage: str, chosen: bool = True
) -> list[Outgoing]:
    """`kind` set (or turned off) as `args` says; `chosen`: by someone, so no default and no
    following the prompt ever moves it again."""
    schedules = await schedules_of(ctx.session, ctx.space)
    if kind in DAILY and chosen:
        assert ctx.space.id is not None
        await once(ctx.session, ctx.space.id, f"chose:{kind}", ctx.now)  # no default over it
    if args.strip().lower() in ("off", "stop", "none", "cancel"):
        existing = schedules.get(kind)
        if existing is None:
            return [
                ctx.reply(
                    f"{KIND_NAMES[kind]} is already off. Set it any time, e.g. {usage.split(': ')[-1]}"
                )
            ]
        await ctx.session.delete(existing)
        return [
            ctx.reply(
                f"{KIND_NAMES[kind]} turned off. Set it again any time, e.g. {usage.split(': ')[-1]}"
            )
        ]
    at, days = _parse_time_and_days(args, usage)
    schedule = schedules.get(kind)
    if schedule is None:
        assert ctx.space.id is not None
        schedule = Schedule(space_id=ctx.space.id, kind=kind, local_time="", weekdays="")
        schedule.paused_until = pause_of(schedules) if kind in PAUSED else None
    schedule.local_time = at.strftime("%H:%M")
    schedule.weekdays = days_to_cron(days)
    _reschedule(ctx, schedule)
    lines = [
        f"✅ {KIND_NAMES[kind]} set for {schedule.local_time} {format_days(days)} "
        f"({ctx.space.timezone} time).",
        f"{describe_schedule(ctx, schedule)}.",
    ]
    checkin = schedules.get("checkin")
    assert ctx.space.id is not None
    # A default check-in nobody chose follows the prompt, half an hour after it.
    chosen = await done(ctx.session, ctx.space.id, "chose:checkin")
    if kind == "prompt" and checkin is not None and not chosen:
        checkin.local_time = checkin_after(at).strftime("%H:%M")
        checkin.weekdays = schedule.weekdays
        _reschedule(ctx, checkin)
        lines.append(f"The check-in follows: {describe_schedule(ctx, checkin)}.")
    return [ctx.reply("\n".join(lines))]


async def cmd_remind(ctx: Ctx, args: str) -> list[Outgoing]:
    usage = "Tell me a time, and days if you like: /remind 20:30, /remind 8pm weekdays, /remind off"
    return await _set_schedule(ctx, "prompt", args, usage)


CHECKIN_USAGE = (
    "Tell me a time, and days if you like: /checkin 21:30, /checkin 9pm daily, /checkin off"
)


async def cmd_checkin(ctx: Ctx, args: str) -> list[Outgoing]:
    if not args:
        return await checkin_now(ctx)
    return await _set_schedule(ctx, "checkin", args, CHECKIN_USAGE)


async def checkin_following(ctx: Ctx, args: str) -> list[Outgoing]:
    """The check-in set half an hour after the prompt for the couple (the set-up's time of day):
    it goes on following the prompt when /remind moves it, until someone types /checkin."""
    return await _set_schedule(ctx, "checkin", args, CHECKIN_USAGE, chosen=False)


async def cmd_timezone(ctx: Ctx, args: str) -> list[Outgoing]:
    if not args:
        local = ctx.now.astimezone(zone_from_name(ctx.space.timezone)).strftime("%H:%M")
        return [
            ctx.reply(
                f"🕰 Timezone: {ctx.space.timezone} (it's {local} there now). "
                "Change it with /timezone Europe/Berlin, /timezone Berlin or /timezone UTC+5:30."
            )
        ]
    try:
        zone = parse_zone(args)
    except ZoneChoice as choice:
        return offer_places(ctx, choice)
    return await set_zone(ctx, zone)


def offer_places(ctx: Ctx, choice: ZoneChoice) -> list[Outgoing]:
    """A place name that fits several zones: each place a button (/timezone and the set-up)."""
    buttons = tuple(
        Button(place.label, actions.choose_zone(place.zone), detail=place.zone)
        for place in choice.choices
    )
    return [ctx.reply(choice.message, buttons=buttons)]


async def zone_chosen(ctx: Ctx, action: actions.ChooseZone) -> list[Outgoing]:
    """A place tapped among those an ambiguous /timezone offered."""
    if action.zone not in zoneinfo.available_timezones():
        raise UserError(
            "That place isn't one I offered. Try /timezone Europe/Berlin or /timezone Berlin."
        )
    return await set_zone(ctx, Zone(action.zone, zone_from_name(action.zone)))


async def default_rhythm(ctx: Ctx) -> list[str]:
    """The first time a space has a timezone, each daily time nobody chose or turned off is set:
    the prompt at 20:00 (or as chosen), the check-in half an hour after it, every day. Returns
    the kinds it set."""
    assert ctx.space.id is not None
    if not await once(ctx.session, ctx.space.id, "rhythm", ctx.now):
        return []
    schedules = await schedules_of(ctx.session, ctx.space)
    prompt = schedules.get("prompt")
    at = parse_time(prompt.local_time) if prompt is not None else DEFAULT_PROMPT
    made: list[str] = []
    for kind, when in (("prompt", at), ("checkin", checkin_after(at))):
        if kind in schedules or await done(ctx.session, ctx.space.id, f"chose:{kind}"):
            continue
        schedule = Schedule(
            space_id=ctx.space.id,
            kind=kind,
            local_time=when.strftime("%H:%M"),
            weekdays=days_to_cron(parse_days("daily")),
            paused_until=pause_of(schedules),
        )
        _reschedule(ctx, schedule)
        made.append(kind)
    return made


async def set_zone(ctx: Ctx, zone: Zone) -> list[Outgoing]:
    """Sets the space's timezone (and, the first time, its default rhythm); one reply."""
    ctx.space.timezone = zone.name
    ctx.session.add(ctx.space)
    lines = [
        f"✅ Timezone set to {zone.name}; it's {ctx.now.astimezone(zone.tz).strftime('%H:%M')} there now."
    ]
    if zone.note:
        lines.append(zone.note)
    made = await default_rhythm(ctx)
    for schedule in (await schedules_of(ctx.session, ctx.space)).values():
        _reschedule(ctx, schedule)
        lines.append(describe_schedule(ctx, schedule) + ".")
    if made:
        lines.append(
            "I've set your daily "
            + " and ".join("prompt" if k == "prompt" else "check-in" for k in made)
            + " to begin; /settings or /remind 8am change them, /remind off stops one."
        )
    return [ctx.reply("\n".join(lines))]


async def cmd_schedule(ctx: Ctx, args: str) -> list[Outgoing]:
    schedules = await schedules_of(ctx.session, ctx.space)
    lines = [f"🗓 Your rhythm ({ctx.space.timezone} time):"]
    for kind in KIND_NAMES:
        if kind in schedules:
            lines.append(describe_schedule(ctx, schedules[kind]) + ".")
        else:
            lines.append(f"{KIND_NAMES[kind]}: off (set one with {EXAMPLES[kind]}).")
    paused = pause_of(schedules)
    if paused is not None and paused > ctx.now:
        until = (
            "you /resume"
            if paused >= FAR_FUTURE
            else local_when(paused, ctx.space.timezone, ctx.now)
        )
        lines.append(f"⏸ Paused until {until}.")
    topics = ", ".join(TOPICS[t] for t in ctx.space.topics.split(",") if t in TOPICS)
    lines.append(f"Topics: {topics}.")
    lines.append(f"Reveal: {ctx.space.reveal} ({REVEAL_MODES[ctx.space.reveal]}).")
    return [ctx.reply("\n".join(lines))]


async def paused_schedules(ctx: Ctx) -> dict[str, Schedule]:
    schedules = await schedules_of(ctx.session, ctx.space)
    return {kind: s for kind, s in schedules.items() if kind in PAUSED}


async def tell_the_other(ctx: Ctx, line: str) -> list[Outgoing]:
    """A pause or resume asked in one partner's private chat reaches the shared space too, in a
    neutral line, so the other is never left wondering why things went quiet."""
    if not ctx.private:
        return []
    partners = await partners_of(ctx.session, ctx.space)
    assert ctx.member is not None
    name = ctx.member.display_name
    return [
        Outgoing(to, line.format(name=name))
        for to in shared_addresses(ctx.space, partners)
        if to != ctx.incoming.to
    ]


async def cmd_pause(ctx: Ctx, args: str) -> list[Outgoing]:
    days = parse_pause(args)
    schedules = await paused_schedules(ctx)
    if not schedules:
        return [
            ctx.reply(
                "Nothing to pause: no prompt, check-in or look back is set. /remind 8pm sets one."
            )
        ]
    if days is None:
        until, said = FAR_FUTURE, "until you /resume"
    else:
        tz = zone_from_name(ctx.space.timezone)
        resume_day = ctx.today + timedelta(days=days)
        until = datetime.combine(resume_day, time(0, 0), tz)
        said = f"for {days} day{'s' if days != 1 else ''}, until {day_label(resume_day)} (00:00 your time)"
    for schedule in schedules.values():
        schedule.paused_until = until
        _reschedule(ctx, schedule)
    lines = [
        f"⏸ Paused {said}. No prompts, check-ins or look backs until then; /resume starts "
        "again sooner."
    ]
    lines += [
        describe_schedule(ctx, s) + "." for s in schedules.values() if s.next_due_at is not None
    ]
    other = await tell_the_other(
        ctx, f"⏸ {{name}} paused Tandem's messages {said}. /resume starts them again."
    )
    return [ctx.reply("\n".join(lines)), *other]


async def cmd_resume(ctx: Ctx, args: str) -> list[Outgoing]:
    schedules = await paused_schedules(ctx)
    was_paused = pause_of(schedules) is not None
    for schedule in schedules.values():
        schedule.paused_until = None
        _reschedule(ctx, schedule)
    if not schedules:
        return [
            ctx.reply(
                "Nothing to resume: no daily prompt or check-in is set. /remind 8pm sets one."
            )
        ]
    head = (
        "▶️ Resumed: prompts and check-ins are back on."
        if was_paused
        else "Nothing was paused; all is running."
    )
    other = await tell_the_other(ctx, "▶️ {name} resumed Tandem's messages.") if was_paused else []
    return [
        ctx.reply(
            "\n".join([head] + [describe_schedule(ctx, s) + "." for s in schedules.values()])
        ),
        *other,
    ]


async def cmd_weekly(ctx: Ctx, args: str) -> list[Outgoing]:
    """/weekly sun 19:00, /weekly off, or /weekly to see it: the look back's day and time."""
    usage = (
        "Tell me a day and a time for the weekly look back: /weekly sun 19:00, "
        "/weekly fri 8pm, or /weekly off"
    )
    if not args:
        schedule = (await schedules_of(ctx.session, ctx.space)).get("weekly")
        if schedule is None:
            return [ctx.reply(f"Weekly look back: off. {usage}.")]
        return [ctx.reply(describe_schedule(ctx, schedule) + f". Change it: {usage}.")]
    words = args.split()
    if words[0].lower() not in ("off", "stop", "none", "cancel"):
        day, rest = words[0], " ".join(words[1:])
        try:
            days = parse_days(day)
        except UserError:
            day, rest = words[-1], " ".join(words[:-1])  # "/weekly 19:00 sun"
            days = parse_days(day)
        if len(days) != 1 or not rest:
            raise UserError(usage)
        args = f"{rest} {day}"
    return await _set_schedule(ctx, "weekly", args, usage)


_TIME = Option(
    "time", "When, in your timezone: 20:30, 8pm, 8:30 pm; or off", Kind.TIME, max_length=20
)


_DAYS = Option(
    "days",
    "Which days: daily, weekdays, weekends, mon,wed,fri (daily if empty)",
    Kind.DAYS,
    max_length=60,
)


COMMANDS = (
    Command(
        "timezone",
        "Show or set your timezone",
        cmd_timezone,
        "Daily rhythm",
        "/timezone <zone>",
        Who.PARTNER_TO_CHANGE,
        (
            Option(
                "zone",
                "A city or zone: Berlin, Europe/Berlin, UTC+5:30. Empty shows yours.",
                Kind.ZONE,
                max_length=64,
            ),
        ),
    ),
    Command(
        "remind",
        "Daily prompt time, e.g. 8pm weekdays",
        cmd_remind,
        "Daily rhythm",
        "/remind <time> [days]",
        Who.PARTNER,
        (replace(_TIME, required=True), _DAYS),
    ),
    Command(
        "checkin",
        "Ask the check-in now, or set its daily time",
        cmd_checkin,
        "Daily rhythm",
        "/checkin [time] [days]",
        Who.PARTNER,  # asking it now fills both partners' private chats: only they may
        (_TIME, _DAYS),
    ),
    Command("schedule", "Your times, days and what comes next", cmd_schedule, "Daily rhythm"),
    Command(
        "pause",
        "Pause prompts, check-ins and the look back",
        cmd_pause,
        "Daily rhythm",
        "/pause [N days]",
        Who.PARTNER,
        (
            Option(
                "days",
                "For how many days (empty: until you /resume)",
                Kind.NUMBER,
                template="{} days",
            ),
        ),
    ),
    Command("resume", "Start again after a pause", cmd_resume, "Daily rhythm", who=Who.PARTNER),
    Command(
        "weekly",
        "The weekly look back: its day and time, or off",
        cmd_weekly,
        "The two of you",
        "/weekly [day time|off]",
        Who.PARTNER_TO_CHANGE,
        (
            Option(
                "when",
                "A day and a time, like sun 19:00 or fri 8pm; or off",
                Kind.TIME,
                max_length=30,
            ),
        ),
    ),
)
