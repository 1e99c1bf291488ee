"""/settings: one message with a button for every setting; each opens its choices as buttons,
and the message changes in place as they are tapped. A bad choice changes nothing."""

from __future__ import annotations

from datetime import time

from bot import actions
from bot.checkins import commands as checkins
from bot.checkins.answers import REVEAL_MODES
from bot.command import Command, Who
from bot.content import TOPICS
from bot.context import Ctx, schedules_of
from bot.errors import UserError
from bot.messages import Button, Outgoing
from bot.prompts import commands as prompts
from bot.schedules import commands as schedules
from bot.setup import flow, waiting
from bot.timeparse import days_from_cron, format_days

PAGES = {
    "time": "🕗 Time and days",
    "zone": "🕰 Timezone",
    "reveal": "👀 Reveal",
    "topics": "📚 Topics",
    "weekly": "🗓 Weekly look back",
    "pause": "⏸ Pause",
}
DAYS = {"daily": "Every day", "weekdays": "Weekdays", "weekends": "Weekends"}
WEEKLY = {"sun1900": "Sunday 19:00", "fri1900": "Friday 19:00", "sat1000": "Saturday 10:00"}
PAUSES = {"3": "For 3 days", "7": "For a week", "on": "Until I resume", "off": "Resume now"}
BACK = Button("« All settings", actions.setting("menu"))
BAD = "That choice isn't one I offered; nothing was changed. Send /settings for a fresh menu."


async def cmd_settings(ctx: Ctx, args: str) -> list[Outgoing]:
    return [ctx.reply(await overview(ctx), buttons=menu_buttons())]


def menu_buttons() -> tuple[Button, ...]:
    return tuple(Button(label, actions.setting(name)) for name, label in PAGES.items())


async def overview(ctx: Ctx) -> str:
    kinds = await schedules_of(ctx.session, ctx.space)
    lines = ["⚙️ Your settings. Tap one to change it:"]
    if "prompt" in kinds:
        prompt = kinds["prompt"]
        days = format_days(days_from_cron(prompt.weekdays))
        checkin = kinds.get("checkin")
        if checkin is None:
            lines.append(f"🕗 Daily prompt {prompt.local_time}, {days}")
        elif checkin.weekdays == prompt.weekdays:
            lines.append(
                f"🕗 Daily prompt {prompt.local_time}, check-in {checkin.local_time}, {days}"
            )
        else:  # each on its own days: said apart, never one's days for both
            their = format_days(days_from_cron(checkin.weekdays))
            lines.append(
                f"🕗 Daily prompt {prompt.local_time} {days}; check-in {checkin.local_time} {their}"
            )
    elif "checkin" in kinds:
        their = format_days(days_from_cron(kinds["checkin"].weekdays))
        lines.append(f"🕗 Daily check-in {kinds['checkin'].local_time} {their}; no daily prompt")
    else:
        lines.append("🕗 No daily times yet")
    lines.append(f"🕰 Timezone: {ctx.space.timezone}")
    lines.append(f"👀 Reveal: {ctx.space.reveal}")
    chosen = [t for t in ctx.space.topics.split(",") if t in TOPICS]
    lines.append(f"📚 Topics: {len(chosen)} of {len(TOPICS)}")
    weekly = kinds.get("weekly")
    lines.append(
        f"🗓 Weekly look back: {format_days(days_from_cron(weekly.weekdays))} {weekly.local_time}"
        if weekly is not None
        else "🗓 Weekly look back: off"
    )
    paused = schedules.pause_of(kinds)
    lines.append("⏸ Paused" if paused is not None and paused > ctx.now else "▶️ Running")
    return "\n".join(lines)


async def tapped(ctx: Ctx, action: actions.Setting) -> list[Outgoing]:
    """A page opened, or a choice on one applied (through the command it stands for, so the same
    checks and confirmations hold); the menu message shows the result in place."""
    if action.name == "menu":
        return [_edit(ctx, await overview(ctx), menu_buttons())]
    if action.name not in PAGES and action.name != "days":
        raise UserError(BAD)
    if action.value is None:
        return [await page(ctx, action.name)]
    replies = await apply(ctx, action.name, action.value)
    here = [r for r in replies if r.to == ctx.incoming.to and not r.private]
    elsewhere = [r for r in replies if r not in here]
    said = "\n".join(r.text for r in here)
    shown = await page(ctx, "time" if action.name == "days" else action.name, said)
    return [shown, *elsewhere]


def _edit(ctx: Ctx, text: str, buttons: tuple[Button, ...]) -> Outgoing:
    return ctx.reply(text, buttons=buttons, edit=ctx.incoming.message_ref)


async def page(ctx: Ctx, name: str, said: str = "") -> Outgoing:
    """A setting's choices, headed by what the last choice did."""
    head = f"{said}\n\n" if said else ""
    kinds = await schedules_of(ctx.session, ctx.space)
    choices: tuple[Button, ...]
    if name == "time":
        now = kinds["prompt"].local_time if "prompt" in kinds else "off"
        text = f"🕗 Daily prompt: {now}. The check-in comes half an hour after it."
        choices = (
            *(Button(label, actions.setting("time", code)) for label, code in flow.TIMES),
            *(
                Button(label, actions.setting("days", key), choice=True)
                for key, label in DAYS.items()
            ),
        )
        text += " Another time: /remind 7:15 and /checkin 7:45."
    elif name == "zone":
        text = (
            f"🕰 Timezone: {ctx.space.timezone}. Tap below, then type your city "
            "(for example Berlin or Paris, France), or send /timezone Berlin."
        )
        choices = (Button("Type my city", actions.setting("zone", "type")),)
    elif name == "reveal":
        text = f"👀 Reveal: {ctx.space.reveal}, {REVEAL_MODES[ctx.space.reveal]}."
        choices = tuple(
            Button(
                ("✓ " if key == ctx.space.reveal else "") + key.title(),
                actions.setting("reveal", key),
                detail=words,
            )
            for key, words in REVEAL_MODES.items()
        )
    elif name == "topics":
        return await topics_page(ctx, head)
    elif name == "weekly":
        text = "🗓 When should the weekly look back come?"
        choices = (
            *(Button(label, actions.setting("weekly", key)) for key, label in WEEKLY.items()),
            Button("Off", actions.setting("weekly", "off")),
        )
    else:
        text = "⏸ Pause prompts, check-ins and the look back?"
        choices = tuple(
            Button(label, actions.setting("pause", key)) for key, label in PAUSES.items()
        )
    return _edit(ctx, head + text, (*choices, BACK))


async def topics_page(ctx: Ctx, head: str) -> Outgoing:
    """The topics page. When /path lands, the path joins or replaces this page here."""
    chosen = [t for t in ctx.space.topics.split(",") if t in TOPICS]
    choices = tuple(
        Button(("✓ " if key in chosen else "") + title, actions.setting("topics", key), choice=True)
        for key, title in TOPICS.items()
    )
    text = "📚 Topics in your rotation (✓). Tap one to add or drop it."
    return _edit(ctx, head + text, (*choices, BACK))


async def apply(ctx: Ctx, name: str, value: str) -> list[Outgoing]:
    """One choice, through the command it stands for; UserError (nothing changed) if it is not
    one offered."""
    if name == "time":
        if not (
            value.isdigit() and len(value) == 4 and int(value[:2]) < 24 and int(value[2:]) < 60
        ):
            raise UserError(BAD)
        said = await flow.set_daily(ctx, time(int(value[:2]), int(value[2:])))
        return [ctx.reply(f"✅ Set: {said}.")]
    if name == "days":
        kinds = await schedules_of(ctx.session, ctx.space)
        if value not in DAYS or not kinds.keys() & set(schedules.DAILY):
            raise UserError(BAD if value not in DAYS else "Choose a time first, then the days.")
        for kind in schedules.DAILY:
            if kind in kinds:
                set_days = schedules.cmd_remind if kind == "prompt" else schedules.cmd_checkin
                await set_days(ctx, f"{kinds[kind].local_time} {value}")
        return [ctx.reply(f"✅ Days: {DAYS[value].lower()}.")]
    if name == "zone":
        if value != "type":
            raise UserError(BAD)
        await waiting.wait_for(ctx, "zone")
        return [ctx.reply("Type your city now, for example Berlin, Paris, France or New York.")]
    if name == "reveal":
        if value not in REVEAL_MODES:
            raise UserError(BAD)
        return await checkins.cmd_reveal(ctx, value)
    if name == "topics":
        if value not in TOPICS:
            raise UserError(BAD)
        chosen = value in ctx.space.topics.split(",")
        return await prompts.cmd_topics(ctx, f"{'drop' if chosen else 'add'} {value}")
    if name == "weekly":
        if value not in (*WEEKLY, "off"):
            raise UserError(BAD)
        when = "off" if value == "off" else f"{value[:3]} {value[3:5]}:{value[5:]}"
        return await schedules.cmd_weekly(ctx, when)
    if value not in PAUSES:
        raise UserError(BAD)
    if value == "off":
        return await schedules.cmd_resume(ctx, "")
    return await schedules.cmd_pause(ctx, "" if value == "on" else f"{value} days")


COMMANDS = (
    Command(
        "settings",
        "Every setting, a tap away",
        cmd_settings,
        "Daily rhythm",
        who=Who.PARTNER,
    ),
)
