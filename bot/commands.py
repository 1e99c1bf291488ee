"""The one command registry: each command's name, description, options, who may run it and its
handler. The Telegram menu, Discord's slash commands, /help and the permission check read it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import col, select

from bot import actions, pairing, promises, safety
from bot.checkins import REVEAL_MODES, complete_days, progress_text
from bot.checkins import shown as checkins_shown
from bot.content import TOPICS, fitting, pick_prompt, topic_key
from bot.context import (
    DM_BY_COMMAND,
    Ctx,
    partners_of,
    reschedule,
    schedules_of,
    shared_addresses,
)
from bot.errors import UserError
from bot.messages import Address, Attachment, Button, Outgoing, SendStatus
from bot.render import day_label, local_when, prompt_message, side_prompt_message
from bot.schedule import FAR_FUTURE
from bot.store import CheckinAnswer, ContentHistory, Delivery, Member, Schedule
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
from bot.weekly import chart_data

MAX_COMMAND = 300
KIND_NAMES = {
    "prompt": "Daily prompt",
    "checkin": "Daily check-in",
    "weekly": "Weekly look back",
}
DAILY = ("prompt", "checkin")  # what /pause pauses; the weekly look back keeps its own rhythm
EXAMPLES = {"prompt": "/remind 8pm", "checkin": "/checkin 9pm", "weekly": "/weekly sun 19:00"}
SIDE_LABELS = {
    "doubting": "I'm learning to trust again",
    "doubted": "I'm working to earn trust back",
    "none": "Both, or I'd rather not say",
}
FORGET_TTL = timedelta(minutes=10)

Handler = Callable[[Ctx, str], Awaitable[list[Outgoing]]]


class Who(StrEnum):
    """Who may run a command."""

    ANYONE = "anyone"
    PARTNER = "partner"  # a partner of the space (or, on Discord, someone who manages the channel)
    PARTNER_TO_CHANGE = "change"  # anyone may look; changing it (with arguments) takes a partner


class Kind(StrEnum):
    """An option's type, as a platform with typed options (Discord) should ask for it."""

    TEXT = "text"
    NUMBER = "number"
    TIME = "time"
    DAYS = "days"  # autocompleted: daily, weekdays, mon,wed,fri
    ZONE = "zone"  # autocompleted from the timezone database
    TOPICS = "topics"  # autocompleted from the topic list


@dataclass(frozen=True)
class Option:
    name: str
    description: str
    kind: Kind = Kind.TEXT
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (shown, as typed in the command line)
    max_length: int = 100
    min_value: int = 1
    max_value: int = 365
    template: str = "{}"  # how the value reads in the command line: "{} days"


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # at most 100 characters (Discord)
    handler: Handler
    section: str
    usage: str = ""  # "/remind <time> [days]" in /help; the bare name if empty
    who: Who = Who.ANYONE
    options: tuple[Option, ...] = ()
    open_args: tuple[str, ...] = ()  # arguments anyone may use ("/forget me": your own data)

    def line(self, values: Sequence[object | None]) -> str:
        """The command line a typed-options platform builds: ("20:30", "weekdays") -> "/remind 20:30 weekdays"."""
        words = [
            opt.template.format(value).strip()
            for opt, value in zip(self.options, values, strict=False)
            if value is not None and str(value).strip()
        ]
        return " ".join([f"/{self.name}", *[w for w in words if w]])

    def allows(self, args: str, is_partner: bool, manager: bool) -> bool:
        if self.who is Who.ANYONE or is_partner or manager:
            return True
        if args.strip().lower() in self.open_args:
            return True
        return self.who is Who.PARTNER_TO_CHANGE and not args


def split_command(text: str) -> tuple[str, str]:
    """ "/Remind@TandemBot 8pm daily" -> ("remind", "8pm daily")."""
    head, _, rest = text.strip().partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    return name, rest.strip()


# ---- Schedules -------------------------------------------------------------------------------


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


async def _set_schedule(ctx: Ctx, kind: str, args: str, usage: str) -> list[Outgoing]:
    schedules = await schedules_of(ctx.session, ctx.space)
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
        schedule.paused_until = pause_of(schedules) if kind in DAILY else None
    schedule.local_time = at.strftime("%H:%M")
    schedule.weekdays = days_to_cron(days)
    _reschedule(ctx, schedule)
    return [
        ctx.reply(
            f"✅ {KIND_NAMES[kind]} set for {schedule.local_time} {format_days(days)} "
            f"({ctx.space.timezone} time).\n{describe_schedule(ctx, schedule)}."
        )
    ]


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
    for schedule in (await schedules_of(ctx.session, ctx.space)).values():
        _reschedule(ctx, schedule)
        lines.append(describe_schedule(ctx, schedule) + ".")
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


async def daily_schedules(ctx: Ctx) -> dict[str, Schedule]:
    schedules = await schedules_of(ctx.session, ctx.space)
    return {kind: s for kind, s in schedules.items() if kind in DAILY}


async def cmd_pause(ctx: Ctx, args: str) -> list[Outgoing]:
    days = parse_pause(args)
    schedules = await daily_schedules(ctx)
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
    schedules = await daily_schedules(ctx)
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


# ---- Content ---------------------------------------------------------------------------------


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
    last = ctx.tandem.library.by_id.get(seen[-1]) if seen else None
    local_hour = ctx.now.astimezone(zone_from_name(ctx.space.timezone)).hour
    pick = pick_prompt(
        ctx.tandem.library,
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


async def cmd_question(ctx: Ctx, args: str) -> list[Outgoing]:
    questions = ctx.tandem.library.questions
    current = ctx.tandem.library.scored_question(ctx.space.question_id)
    if not args:
        lines = ["📏 The scored question, the same every day so the scores compare:"]
        lines += [
            f"{'✓' if q.id == current.id else '·'} {i}. {q.text}"
            for i, q in enumerate(questions, 1)
        ]
        lines.append("The others take turns as an optional reflection. Choose with /question 3.")
        return [ctx.reply("\n".join(lines))]
    if not args.isdigit() or not 1 <= int(args) <= len(questions):
        raise UserError(
            f"Choose the question by its number, 1 to {len(questions)}: for example /question 1. "
            "/question shows the list."
        )
    chosen = questions[int(args) - 1]
    ctx.space.question_id = chosen.id
    ctx.session.add(ctx.space)
    return [ctx.reply(f"✅ From the next check-in, the scored question is: {chosen.text}")]


# ---- The two of you --------------------------------------------------------------------------

NOT_A_PARTNER = (
    "Only this space's two partners can change that. If you're one of them, send /start here "
    "first. Nothing was changed."
)


async def cmd_start(ctx: Ctx, args: str) -> list[Outgoing]:
    texts = ctx.tandem.library.texts
    if args:
        raise UserError(
            "That start code isn't one I know. Open the link again, or ask for a fresh one with /pair."
        )
    assert ctx.member is not None
    await pairing.make_partner(ctx.session, ctx.space, ctx.member, ctx.now)
    if ctx.private and ctx.member.private_chat is None:
        await pairing.link(ctx.session, ctx.space, ctx.member, ctx.incoming.to.chat_id)
    return [ctx.reply(texts.welcome)]


async def pair_here(ctx: Ctx) -> list[Outgoing]:
    """Links the asker's private chat: a deep link, or (Discord) a DM Tandem opens itself."""
    if ctx.member is not None and ctx.member.private_chat is not None:
        return [ctx.whisper("🔒 Your private chat with me is already linked to this space. ✓")]
    if ctx.space.platform in DM_BY_COMMAND:
        return await _pair_by_dm(ctx)
    code = await pairing.make_code(ctx.session, ctx.space, "group", ctx.now)
    # A tap can be answered to the tapper alone (Telegram opens the link in one go); a typed
    # /pair in a group is answered in the group, where anyone in it may use the link.
    answer = ctx.whisper if ctx.incoming.action is not None and ctx.can_whisper else ctx.reply
    return [
        answer(
            "🔒 Tap to open your private chat with me. Your check-ins, notes and your side's "
            "prompts will come there; the scores are shown here once you've both answered. "
            "(The link works for 24 hours, for members of this chat.)",
            buttons=(Button("Open my private chat", start=code),),
        )
    ]


async def _pair_by_dm(ctx: Ctx) -> list[Outgoing]:
    chat = ctx.incoming.private_chat
    if chat is None:
        raise UserError(
            "I couldn't open a private chat with you here. Try /pair again in a moment."
        )
    assert ctx.member is not None
    await pairing.make_partner(ctx.session, ctx.space, ctx.member, ctx.now)
    await pairing.link(ctx.session, ctx.space, ctx.member, chat)
    tandem, member_id, to = ctx.tandem, ctx.member.id, ctx.incoming.to
    hello = Outgoing(
        Address(ctx.space.platform, chat),
        "🔒 This is your private chat with Tandem. Your check-ins come here; only you see your "
        "answers until you've both answered. /perspective chooses prompts for your side.",
    )

    async def greet() -> list[Outgoing]:
        result = await tandem.messenger.send(hello)
        if result.status is SendStatus.DELIVERED:
            return [
                Outgoing(to, "🔒 Linked: I'll message you privately from now on.", private=True)
            ]
        await tandem.unlink(member_id)
        return [
            Outgoing(
                to,
                "I couldn't send you a direct message: your DMs from this server seem closed. "
                "Allow direct messages (server name › Privacy Settings), then /pair again. Until "
                "then, answer here; your taps are confirmed only to you.",
                private=True,
            )
        ]

    ctx.after_commit.append(greet)
    return []


async def cmd_pair(ctx: Ctx, args: str) -> list[Outgoing]:
    if not ctx.private:
        return await pair_here(ctx)
    assert ctx.member is not None
    if not ctx.space.direct:
        return [
            ctx.reply(
                "This private chat is already linked to your shared chat. ✓ "
                "To leave that space, send /unpair."
            )
        ]
    if len(await partners_of(ctx.session, ctx.space)) >= 2:
        return [ctx.reply("You two are already paired. ✓ To leave, send /unpair.")]
    if ctx.space.platform in DM_BY_COMMAND:
        raise UserError(
            "On this platform, pair in a server channel you both can see: type /pair there."
        )
    await pairing.make_partner(ctx.session, ctx.space, ctx.member, ctx.now)
    code = await pairing.make_code(ctx.session, ctx.space, "invite", ctx.now, ctx.member)
    return [
        ctx.reply(
            f"💌 Forward this message to your partner. The button opens Tandem for them and joins "
            f"the two of you ({ctx.member.display_name}'s invitation; it works once, for 24 "
            "hours). Your prompts and the check-in reveals will then reach both of you.",
            buttons=(Button("Join as a couple", start=code),),
        )
    ]


async def cmd_unpair(ctx: Ctx, args: str) -> list[Outgoing]:
    member = ctx.member
    if member is None:  # a channel manager who is not a partner: nothing of theirs to leave
        raise UserError("You're not part of this space, so there's nothing to leave.")
    private = ctx.private_address()
    notices = await pairing.leave(ctx.session, ctx.space, member)
    bye = (
        "👋 You've left this space. Your past answers stay in the couple's history; "
        "/forget me erases them. /start joins again."
    )
    replies = [Outgoing(private, bye)] if private is not None else [ctx.whisper(bye)]
    return replies + [n for n in notices if n.to != private]


async def cmd_perspective(ctx: Ctx, args: str) -> list[Outgoing]:
    buttons = tuple(Button(label, actions.side(key)) for key, label in SIDE_LABELS.items())
    text = (
        "Which side of rebuilding trust are you on? It only chooses some extra prompts for you, "
        "in private. It is never announced, and never shown to your partner."
    )
    if ctx.can_whisper:
        return [ctx.whisper(text, buttons=buttons)]
    return [
        ctx.reply(
            "Let's choose that in your private chat with me, where only you see it: "
            "send /perspective there. No private chat yet? /pair links one."
        )
    ]


async def choose_side(ctx: Ctx, side: str | None) -> list[Outgoing]:
    if ctx.member is None or not ctx.member.partner:
        raise UserError(NOT_A_PARTNER)
    ctx.member.side = side
    ctx.session.add(ctx.member)
    said = SIDE_LABELS[side or "none"]
    extra = (
        " Now and then, a prompt for your side comes to your private chat."
        if side and ctx.member.private_chat
        else " Link your private chat with /pair to get prompts for your side."
        if side
        else ""
    )
    return [ctx.whisper(f"Saved: “{said}”. Only you see this.{extra}")]


async def cmd_reveal(ctx: Ctx, args: str) -> list[Outgoing]:
    mode = args.strip().lower()
    if not mode:
        lines = [f"👀 Reveal: {ctx.space.reveal}, {REVEAL_MODES[ctx.space.reveal]}."]
        lines += [f"/reveal {key}: {text}" for key, text in REVEAL_MODES.items()]
        return [ctx.reply("\n".join(lines))]
    if mode not in REVEAL_MODES:
        raise UserError("Choose together, never or instant: for example /reveal together.")
    before = ctx.space.reveal
    if mode == before:
        return [ctx.reply(f"👀 Reveal is already {mode}: {REVEAL_MODES[mode]}.")]
    ctx.space.reveal = mode
    ctx.session.add(ctx.space)
    if OPENNESS[mode] < OPENNESS[before]:
        return [
            ctx.reply(
                f"✅ Reveal set to {mode}: {REVEAL_MODES[mode]}. This covers earlier days too."
            )
        ]
    # Showing more only ever covers answers given from now on, and both partners hear of it
    # wherever they answer, so nobody's next score is shown without their knowing.
    text = (
        f"👀 {ctx.member.display_name if ctx.member else 'Someone'} set the reveal to {mode}: "
        f"{REVEAL_MODES[mode]}. This applies to answers given from now on; answers already "
        "given keep the rule they were given under."
    )
    addresses = shared_addresses(ctx.space, await partners_of(ctx.session, ctx.space))
    if ctx.incoming.to not in addresses:
        return [ctx.reply(text)] + [Outgoing(to, text) for to in addresses]
    return [Outgoing(to, text) for to in addresses]


OPENNESS = {"never": 0, "together": 1, "instant": 2}


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


async def cmd_progress(ctx: Ctx, args: str) -> list[Outgoing]:
    """The streak and recent scores, with the look back's chart when there are scores to show."""
    viewer = ctx.member if ctx.private else None
    text = await progress_text(ctx.session, ctx.space, ctx.today, viewer)
    data = await chart_data(ctx.session, ctx.space, ctx.today, ctx.tandem.library)
    if data is None:
        return [ctx.reply(text)]
    reply, tandem, name = ctx.reply, ctx.tandem, f"progress-{ctx.today.isoformat()}.png"

    async def with_chart() -> list[Outgoing]:
        # Drawn after the transaction: a chart never holds up anyone else's writes.
        picture = await tandem.picture(data, name)
        return [reply(text + (f"\n🖼 {data.summary()}" if picture else ""), attachment=picture)]

    ctx.after_commit.append(with_chart)
    return []


# ---- Your data -------------------------------------------------------------------------------


async def export_for(ctx: Ctx, member: Member | None, with_private: bool) -> dict[str, Any]:
    """The space's revealed data, plus (where it goes privately) the asker's own notes.

    Never the other partner's private notes, unrevealed scores or side.
    """
    session, space = ctx.session, ctx.space

    async def rows(model: Any, order: Any, *where: Any) -> list[dict[str, Any]]:
        query = select(model).where(model.space_id == space.id, *where).order_by(order)
        return [r.model_dump(exclude={"space_id"}) for r in (await session.exec(query)).all()]

    revealed = set(await complete_days(session, space))
    members = [
        m
        for m in (await session.exec(select(Member).where(Member.space_id == space.id))).all()
        if m.partner or (member is not None and m.id == member.id)
    ]
    checkins = []
    for answer in (
        await session.exec(
            select(CheckinAnswer)
            .where(CheckinAnswer.space_id == space.id)
            .order_by(col(CheckinAnswer.local_date), col(CheckinAnswer.member_id))
        )
    ).all():
        mine = member is not None and answer.member_id == member.id
        shown = checkins_shown(space, answer, revealed)
        if not mine and not shown:
            continue
        row = answer.model_dump(exclude={"space_id", "note", "share_note"})
        if answer.note and ((mine and with_private) or (answer.share_note and shown)):
            row["note"] = answer.note
        checkins.append(row)
    space_row = space.model_dump()
    return {
        "space": space_row,
        "members": [
            m.model_dump(
                exclude={"space_id", "side", "side_cycle", "private_chat"}
                if member is None or m.id != member.id
                else {"space_id"}
            )
            for m in members
        ],
        "schedules": await rows(Schedule, Schedule.id),
        "checkins": checkins,
        "deliveries": await rows(
            Delivery,
            Delivery.id,
            col(Delivery.recipient).in_([0, member.id if member else 0]),
        ),
        "content_history": await rows(
            ContentHistory,
            ContentHistory.id,
            col(ContentHistory.member_id).in_([0, member.id if member else 0]),
        ),
        # A promise just for its author goes only where their private notes may go.
        "promises": [
            row
            for row in await promises.export_rows(session, space, member)
            if with_private or row["shared"]
        ],
    }


async def cmd_export(ctx: Ctx, args: str) -> list[Outgoing]:
    private = ctx.private_address()
    to_private = not ctx.private and private is not None
    with_private = ctx.can_whisper or to_private
    data = await export_for(ctx, ctx.member, with_private)
    data["exported_at"] = ctx.now.isoformat()
    body = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()
    file = Attachment(f"tandem-export-{ctx.today.isoformat()}.json", body)
    text = "📦 Everything Tandem keeps about this space that you may see"
    if with_private:
        text += ", with your own private notes."
    else:
        text += ". (Your private notes only go to your private chat: /pair links one.)"
    if to_private and private is not None:
        return [
            Outgoing(private, text, attachment=file, protect=True),
            ctx.whisper("📦 Sent to your private chat with me."),
        ]
    if ctx.can_whisper:
        return [ctx.whisper(text, attachment=file, protect=ctx.private)]
    return [ctx.reply(text, attachment=file)]


async def cmd_forget(ctx: Ctx, args: str) -> list[Outgoing]:
    scope = args.strip().lower()
    if scope not in ("", "me", "all", "everything"):
        raise UserError(
            "Send /forget to erase this whole space, or /forget me for only your answers."
        )
    if ctx.member is None and ctx.incoming.manager and scope != "me":
        # Someone who manages the channel may erase it; the confirmation needs to know who asked.
        ctx.member = await pairing.member_for(
            ctx.session, ctx.space, ctx.incoming.user_id, ctx.incoming.user_name, ctx.now
        )
    if ctx.member is None or ctx.member.id is None:
        raise UserError("There's nothing of yours here to erase.")
    if scope == "me":
        warning = (
            "⚠️ This erases your own check-in answers, notes and promises here, and takes you out "
            "of this space. It can't be undone. (/export first if you want a copy.)"
        )
        yes = Button("Yes, erase mine", actions.forget("me", ctx.member.id, ctx.now))
    else:
        if not (ctx.member.partner or ctx.incoming.manager):
            raise UserError(NOT_A_PARTNER)
        warning = (
            "⚠️ This erases everything Tandem keeps about this space, for both of you: settings, "
            "schedule, check-ins, notes and promises. It can't be undone. (/export first if you "
            "want a copy.)"
        )
        yes = Button("Yes, erase everything", actions.forget("all", ctx.member.id, ctx.now))
    buttons = (yes, Button("Cancel", actions.FORGET_NO))
    return [ctx.reply(warning + " Only you can confirm, within 10 minutes.", buttons=buttons)]


async def confirm_forget(ctx: Ctx, action: actions.Forget) -> list[Outgoing]:
    member = ctx.member
    if member is None or member.id != action.member_id:
        raise UserError("Only the person who asked can confirm this. Nothing was erased.")
    if ctx.now.timestamp() - action.asked_at > FORGET_TTL.total_seconds():
        raise UserError("That confirmation has expired. Send /forget again if you still want to.")
    if action.scope == "me":
        private = ctx.private_address()
        notices = await pairing.leave(ctx.session, ctx.space, member, erase=True)
        ctx.after_commit.append(ctx.tandem.scrub)
        done_text = (
            "🧹 Done. Your answers, notes and promises here are erased, and you've left this space."
        )
        replies = [Outgoing(private, done_text)] if private else [ctx.whisper(done_text)]
        return replies + [n for n in notices if n.to != private]
    if not (member.partner or ctx.incoming.manager):
        raise UserError(NOT_A_PARTNER)
    partners = await partners_of(ctx.session, ctx.space)
    addresses = shared_addresses(ctx.space, partners)
    await ctx.tandem.erase(ctx)
    text = (
        "🧹 Done. Everything Tandem kept about this space is erased. "
        "If you want to start again some day, send /start."
    )
    if ctx.incoming.to not in addresses:
        addresses.append(ctx.incoming.to)
    return [Outgoing(to, text) for to in addresses]


# ---- Always there ----------------------------------------------------------------------------


async def cmd_help(ctx: Ctx, args: str) -> list[Outgoing]:
    return [ctx.reply(help_text(ctx.tandem.library.texts.help))]


async def cmd_privacy(ctx: Ctx, args: str) -> list[Outgoing]:
    keep = ctx.tandem.retention
    text = ctx.tandem.library.texts.privacy.format(
        note_days=keep.note_days, inactive_days=keep.inactive_days
    )
    return [ctx.reply(text)]


async def cmd_support(ctx: Ctx, args: str) -> list[Outgoing]:
    """Answered where the partner can't see it: in a shared chat it would be in front of them."""
    library = ctx.tandem.library
    text = library.safety.support(library.texts.support, ctx.space.timezone)
    sent = safety.privately(ctx, text)
    if sent:
        if sent[0].to != ctx.incoming.to:
            sent.append(ctx.whisper("🔒 I've answered in your private chat with me."))
        return sent
    region = library.safety.region(ctx.space.timezone)
    code = f"{safety.SUPPORT_START}-{region.code}" if region else safety.SUPPORT_START
    return [
        ctx.reply(
            "🔒 I'll answer that in your private chat with me. Tap below to open it.",
            buttons=(Button("Open my private chat", start=code),),
        )
    ]


_TIME = Option(
    "time", "When, in your timezone: 20:30, 8pm, 8:30 pm; or off", Kind.TIME, max_length=20
)
_DAYS = Option(
    "days",
    "Which days: daily, weekdays, weekends, mon,wed,fri (daily if empty)",
    Kind.DAYS,
    max_length=60,
)
SECTIONS = ("Daily rhythm", "The two of you", "Your data", "Help")

REGISTRY: tuple[Command, ...] = (
    Command("start", "Say hello and join this space as a partner", cmd_start, "The two of you"),
    Command("help", "Everything Tandem can do", cmd_help, "Help"),
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
        Who.PARTNER_TO_CHANGE,  # asking the check-in now is for anyone; setting its time is not
        (_TIME, _DAYS),
    ),
    Command("schedule", "Your times, days and what comes next", cmd_schedule, "Daily rhythm"),
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
        "pause",
        "Pause prompts and check-ins",
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
    Command(
        "pair",
        "Link your private chat with Tandem to this space",
        cmd_pair,
        "The two of you",
    ),
    Command(
        "unpair",
        "Leave this space (from either chat)",
        cmd_unpair,
        "The two of you",
        who=Who.PARTNER,
    ),
    Command(
        "perspective",
        "Choose your side, privately: it picks some prompts for you",
        cmd_perspective,
        "The two of you",
        who=Who.PARTNER,
    ),
    Command(
        "reveal",
        "When scores are shown: together, never or instant",
        cmd_reveal,
        "The two of you",
        "/reveal [together|never|instant]",
        Who.PARTNER_TO_CHANGE,
        (
            Option(
                "mode",
                "together (default), never, or instant",
                choices=tuple((m, m) for m in REVEAL_MODES),
            ),
        ),
    ),
    Command(
        "question",
        "See or choose the scored check-in question",
        cmd_question,
        "The two of you",
        "/question [number]",
        Who.PARTNER_TO_CHANGE,
        (Option("number", "The question's number from the list", Kind.NUMBER, max_value=50),),
    ),
    Command(
        "promise",
        "Make a small promise; I'll ask on the day how it went",
        promises.cmd_promise,
        "The two of you",
        "/promise <what> [by <day>]",
        Who.PARTNER,
        (
            Option(
                "what",
                "What you'll do, and by when if you like: plan Saturday's walk by fri",
                required=True,
                max_length=240,
            ),
        ),
    ),
    Command(
        "promises",
        "Your open promises, each with its buttons",
        promises.cmd_promises,
        "The two of you",
        who=Who.PARTNER,
    ),
    Command(
        "progress",
        "Streak, recent check-ins and a chart, as far as you may see",
        cmd_progress,
        "The two of you",
    ),
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
    Command(
        "export",
        "Download what Tandem keeps that you may see",
        cmd_export,
        "Your data",
        who=Who.PARTNER,
    ),
    Command(
        "forget",
        "Erase this space, or only your own answers",
        cmd_forget,
        "Your data",
        "/forget [me]",
        Who.PARTNER,
        (
            Option(
                "scope",
                "everything (default), or only me",
                choices=(("everything", ""), ("only me", "me")),
            ),
        ),
        open_args=("me",),
    ),
    Command("privacy", "What is stored and who sees what", cmd_privacy, "Your data"),
    Command("support", "Finding a counsellor; help in danger", cmd_support, "Help"),
)
COMMANDS: dict[str, Command] = {c.name: c for c in REGISTRY}


def help_text(footer: str) -> str:
    lines = ["Tandem: one small step a day, together."]
    for section in SECTIONS:
        lines.append("")
        lines.append(section)
        for command in REGISTRY:
            if command.section == section:
                lines.append(f"{command.usage or '/' + command.name}: {command.description}")
    return "\n".join(lines) + "\n\n" + footer.strip()
