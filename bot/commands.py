"""The one routing table: command name -> handler. Each parses its arguments and builds replies."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.checkins import progress_text
from bot.content import TOPICS, pick_prompt, topic_key
from bot.errors import UserError
from bot.messages import Attachment, Button, Incoming, Outgoing
from bot.render import day_label, local_when, prompt_message
from bot.schedule import FAR_FUTURE, first_due
from bot.store import CheckinAnswer, ContentHistory, Delivery, Member, Schedule, Space
from bot.timeparse import (
    days_from_cron,
    days_to_cron,
    format_days,
    parse_days,
    parse_pause,
    parse_time,
    parse_zone,
    zone_from_name,
)

if TYPE_CHECKING:
    from bot.service import Tandem

MAX_COMMAND = 300
KIND_NAMES = {"prompt": "Daily prompt", "checkin": "Daily check-in"}
FORGET_YES, FORGET_NO = "f:yes", "f:no"


@dataclass
class Ctx:
    """What a handler works with: one open transaction, the chat's space, who spoke, and when."""

    tandem: Tandem
    session: AsyncSession
    space: Space
    member: Member | None
    incoming: Incoming
    now: datetime
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def reply(self, text: str, **kwargs: Any) -> Outgoing:
        return Outgoing(self.incoming.to, text, **kwargs)

    @property
    def today(self) -> Any:
        return self.now.astimezone(zone_from_name(self.space.timezone)).date()


Handler = Callable[[Ctx, str], Awaitable[list[Outgoing]]]


def split_command(text: str) -> tuple[str, str]:
    """ "/Remind@TandemBot 8pm daily" -> ("remind", "8pm daily")."""
    head, _, rest = text.strip().partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    return name, rest.strip()


async def schedules_of(ctx: Ctx) -> dict[str, Schedule]:
    result = await ctx.session.exec(select(Schedule).where(Schedule.space_id == ctx.space.id))
    return {s.kind: s for s in result.all()}


def pause_of(schedules: dict[str, Schedule]) -> datetime | None:
    pauses = [s.paused_until for s in schedules.values() if s.paused_until is not None]
    return max(pauses) if pauses else None


def reschedule(session: AsyncSession, schedule: Schedule, zone: str, now: datetime) -> None:
    """Recomputes when a schedule is next due, after any change to it, its space or its pause."""
    paused = schedule.paused_until
    if paused is not None and paused <= now:
        schedule.paused_until = paused = None
    schedule.next_due_at = first_due(schedule.local_time, schedule.weekdays, zone, now, paused)
    session.add(schedule)


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


async def _set_schedule(ctx: Ctx, kind: str, args: str, usage: str) -> list[Outgoing]:
    schedules = await schedules_of(ctx)
    if args.strip().lower() in ("off", "stop", "none", "cancel"):
        existing = schedules.get(kind)
        if existing is None:
            return [ctx.reply(f"{KIND_NAMES[kind]} is already off.")]
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
        schedule.paused_until = pause_of(schedules)
    schedule.local_time = at.strftime("%H:%M")
    schedule.weekdays = days_to_cron(days)
    _reschedule(ctx, schedule)
    return [
        ctx.reply(
            f"✅ {KIND_NAMES[kind]} set for {schedule.local_time} {format_days(days)} "
            f"({ctx.space.timezone} time).\n{describe_schedule(ctx, schedule)}."
        )
    ]


async def cmd_start(ctx: Ctx, args: str) -> list[Outgoing]:
    return [ctx.reply(ctx.tandem.library.texts.welcome)]


async def cmd_help(ctx: Ctx, args: str) -> list[Outgoing]:
    return [ctx.reply(ctx.tandem.library.texts.help)]


async def cmd_privacy(ctx: Ctx, args: str) -> list[Outgoing]:
    return [ctx.reply(ctx.tandem.library.texts.privacy)]


async def cmd_support(ctx: Ctx, args: str) -> list[Outgoing]:
    return [ctx.reply(ctx.tandem.library.texts.support)]


async def cmd_remind(ctx: Ctx, args: str) -> list[Outgoing]:
    usage = "Tell me a time, and days if you like: /remind 20:30, /remind 8pm weekdays, /remind off"
    return await _set_schedule(ctx, "prompt", args, usage)


async def cmd_checkin(ctx: Ctx, args: str) -> list[Outgoing]:
    if not args:
        ctx.after_commit.append(await ctx.tandem.prepare_checkin_now(ctx))
        return []
    usage = "Tell me a time, and days if you like: /checkin 21:30, /checkin 9pm daily, /checkin off"
    return await _set_schedule(ctx, "checkin", args, usage)


async def cmd_timezone(ctx: Ctx, args: str) -> list[Outgoing]:
    if not args:
        local = ctx.now.astimezone(zone_from_name(ctx.space.timezone)).strftime("%H:%M")
        return [
            ctx.reply(
                f"🕰 Timezone: {ctx.space.timezone} (it's {local} there now). "
                "Change it with /timezone Europe/Berlin, /timezone Berlin or /timezone UTC+5:30."
            )
        ]
    zone = parse_zone(args)
    ctx.space.timezone = zone.name
    ctx.session.add(ctx.space)
    lines = [
        f"✅ Timezone set to {zone.name}; it's {ctx.now.astimezone(zone.tz).strftime('%H:%M')} there now."
    ]
    for schedule in (await schedules_of(ctx)).values():
        _reschedule(ctx, schedule)
        lines.append(describe_schedule(ctx, schedule) + ".")
    return [ctx.reply("\n".join(lines))]


async def cmd_schedule(ctx: Ctx, args: str) -> list[Outgoing]:
    schedules = await schedules_of(ctx)
    lines = [f"🗓 Your rhythm ({ctx.space.timezone} time):"]
    for kind in KIND_NAMES:
        if kind in schedules:
            lines.append(describe_schedule(ctx, schedules[kind]) + ".")
        else:
            example = "/remind 8pm" if kind == "prompt" else "/checkin 9pm"
            lines.append(f"{KIND_NAMES[kind]}: off (set one with {example}).")
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
    return [ctx.reply("\n".join(lines))]


async def cmd_tip(ctx: Ctx, args: str) -> list[Outgoing]:
    library = ctx.tandem.library
    seen_rows = await ctx.session.exec(
        select(ContentHistory.prompt_id).where(
            ContentHistory.space_id == ctx.space.id, ContentHistory.cycle == ctx.space.content_cycle
        )
    )
    assert ctx.space.id is not None
    pick = pick_prompt(
        library,
        ctx.space.topics.split(","),
        ctx.space.last_topic,
        set(seen_rows.all()),
        ctx.space.id,
        audience="both",
    )
    if pick.new_cycle:
        ctx.space.content_cycle += 1
    ctx.space.last_topic = pick.prompt.topic
    ctx.session.add(ctx.space)
    ctx.session.add(
        ContentHistory(
            space_id=ctx.space.id,
            prompt_id=pick.prompt.id,
            cycle=ctx.space.content_cycle,
            shown_at=ctx.now,
        )
    )
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


async def cmd_pause(ctx: Ctx, args: str) -> list[Outgoing]:
    days = parse_pause(args)
    schedules = await schedules_of(ctx)
    if not schedules:
        return [
            ctx.reply("Nothing to pause: no daily prompt or check-in is set. /remind 8pm sets one.")
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
    lines = [f"⏸ Paused {said}. No prompts or check-ins until then; /resume starts again sooner."]
    lines += [
        describe_schedule(ctx, s) + "." for s in schedules.values() if s.next_due_at is not None
    ]
    return [ctx.reply("\n".join(lines))]


async def cmd_resume(ctx: Ctx, args: str) -> list[Outgoing]:
    schedules = await schedules_of(ctx)
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
        "▶️ Welcome back, you're resumed." if was_paused else "You weren't paused; all is running."
    )
    return [
        ctx.reply("\n".join([head] + [describe_schedule(ctx, s) + "." for s in schedules.values()]))
    ]


async def cmd_progress(ctx: Ctx, args: str) -> list[Outgoing]:
    return [ctx.reply(await progress_text(ctx.session, ctx.space, ctx.today))]


async def cmd_export(ctx: Ctx, args: str) -> list[Outgoing]:
    data = await export_space(ctx.session, ctx.space)
    data["exported_at"] = ctx.now.isoformat()
    body = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()
    filename = f"tandem-export-{ctx.today.isoformat()}.json"
    return [
        ctx.reply(
            "📦 Everything Tandem keeps about this chat.", attachment=Attachment(filename, body)
        )
    ]


async def export_space(session: AsyncSession, space: Space) -> dict[str, Any]:
    async def rows(model: Any, order: Any) -> list[dict[str, Any]]:
        result = await session.exec(select(model).where(model.space_id == space.id).order_by(order))
        return [r.model_dump(exclude={"space_id"}) for r in result.all()]

    return {
        "space": space.model_dump(),
        "members": await rows(Member, Member.id),
        "schedules": await rows(Schedule, Schedule.id),
        "checkins": await rows(CheckinAnswer, CheckinAnswer.id),
        "deliveries": await rows(Delivery, Delivery.id),
        "content_history": await rows(ContentHistory, ContentHistory.id),
    }


async def cmd_forget(ctx: Ctx, args: str) -> list[Outgoing]:
    return [
        ctx.reply(
            "⚠️ This erases everything Tandem keeps about this chat: settings, schedule, members, "
            "check-ins and notes. It can't be undone. (/export first if you want a copy.)",
            buttons=(Button("Yes, erase everything", FORGET_YES), Button("Cancel", FORGET_NO)),
        )
    ]


COMMANDS: dict[str, Handler] = {
    "start": cmd_start,
    "help": cmd_help,
    "timezone": cmd_timezone,
    "remind": cmd_remind,
    "checkin": cmd_checkin,
    "schedule": cmd_schedule,
    "tip": cmd_tip,
    "topics": cmd_topics,
    "pause": cmd_pause,
    "resume": cmd_resume,
    "progress": cmd_progress,
    "export": cmd_export,
    "forget": cmd_forget,
    "privacy": cmd_privacy,
    "support": cmd_support,
}

DESCRIPTIONS: dict[str, str] = {
    "start": "Say hello and set up this chat",
    "help": "Everything Tandem can do",
    "timezone": "Show or set your timezone",
    "remind": "Daily prompt time, e.g. 8pm weekdays",
    "checkin": "Ask the check-in now, or set its daily time",
    "schedule": "Your times, days and what comes next",
    "tip": "A prompt right now",
    "topics": "See or choose prompt topics",
    "pause": "Pause prompts and check-ins",
    "resume": "Start again after a pause",
    "progress": "Streak and recent check-ins",
    "export": "Download everything stored about this chat",
    "forget": "Erase everything about this chat",
    "privacy": "What is stored and why",
    "support": "Finding a counsellor; help in danger",
}
