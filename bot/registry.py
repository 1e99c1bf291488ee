"""The one command table, gathered from what each room declares (the Telegram menu, Discord's
slash commands, /help and the permission check read it), and which room each button goes to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot import actions
from bot.checkins import commands as checkins
from bot.checkins import hurt, taps
from bot.command import Command, not_a_partner
from bot.context import Ctx
from bot.errors import UserError
from bot.lookback import commands as lookback
from bot.messages import Button, Incoming, Outgoing
from bot.partners import commands as partners
from bot.paths import commands as paths
from bot.ports import Messenger
from bot.promises import commands as promises
from bot.promises import keeping
from bot.prompts import commands as prompts
from bot.questions import commands as questions
from bot.repair import commands as repair
from bot.safety import replies as safety
from bot.schedules import commands as schedules
from bot.setup import flow as setup
from bot.setup import menu as settings
from bot.talk import offer as talk_offer
from bot.talk import room as talk
from bot.talk.phrases import RUNNABLE
from bot.yourdata import commands as yourdata

SECTIONS = ("Daily rhythm", "The two of you", "Your data", "Help")
# The order of the menu and of /help: the first things a couple needs come first.
ORDER = (
    "start",
    "help",
    "timezone",
    "remind",
    "checkin",
    "today",
    "schedule",
    "settings",
    "tip",
    "topics",
    "path",
    "pause",
    "resume",
    "together",
    "pair",
    "unpair",
    "perspective",
    "reveal",
    "question",
    "answers",
    "promise",
    "promises",
    "repair",
    "progress",
    "weekly",
    "export",
    "forget",
    "privacy",
    "support",
)


# /help's first answer: the few commands a couple needs, a phone screen at most (the rest, and
# the examples, are a tap away: 24 commands at once buried the ones that matter).
FIRST = (
    "start",
    "settings",
    "today",
    "checkin",
    "remind",
    "timezone",
    "promise",
    "progress",
    "pause",
)
LAST = ("privacy", "support")


async def cmd_help(ctx: Ctx, args: str) -> list[Outgoing]:
    lines = ["Tandem: one small step a day, together.", ""]
    for name in (*FIRST, *LAST):
        command = COMMANDS[name]
        lines.append(f"{command.usage or '/' + name}: {command.description}")
    lines += ["", "Tap More for every command, with examples."]
    more = Button("More", actions.HELP_MORE)
    return [ctx.reply("\n".join(lines), buttons=(more,))]


async def help_in_full(ctx: Ctx, action: actions.Simple) -> list[Outgoing]:
    return [ctx.reply(help_text(ctx.library.texts.help))]


HELP = Command("help", "Everything Tandem can do", cmd_help, "Help")
_DECLARED = {
    c.name: c
    for room in (
        schedules.COMMANDS,
        partners.COMMANDS,
        checkins.COMMANDS,
        prompts.COMMANDS,
        paths.COMMANDS,
        questions.COMMANDS,
        promises.COMMANDS,
        repair.COMMANDS,
        lookback.COMMANDS,
        safety.COMMANDS,
        yourdata.COMMANDS,
        settings.COMMANDS,
        (HELP,),
    )
    for c in room
}
assert set(_DECLARED) == set(ORDER), f"commands without a place: {set(_DECLARED) ^ set(ORDER)}"
REGISTRY: tuple[Command, ...] = tuple(_DECLARED[name] for name in ORDER)
COMMANDS: dict[str, Command] = {c.name: c for c in REGISTRY}
assert set(COMMANDS) >= RUNNABLE, f"talk buttons for no command: {RUNNABLE - set(COMMANDS)}"


async def run_command(ctx: Ctx, name: str, args: str) -> list[Outgoing]:
    """A command a talk button (or a plain-word intent) runs, checked as if it had been typed."""
    command = COMMANDS.get(name)
    if command is None or name not in RUNNABLE:
        raise UserError("That button isn't one I know any more. /help lists what I can do.")
    if not command.allows(args, ctx.is_partner):
        raise not_a_partner(ctx)
    return await command.handler(ctx, args)


async def run_tapped(ctx: Ctx, action: actions.Run) -> list[Outgoing]:
    return await run_command(ctx, action.name, action.args)


async def talk_to(ctx: Ctx) -> list[Outgoing]:
    """Plain words addressed to Tandem (bot/talk/)."""
    return await talk.answer(ctx, run_command)


def help_text(footer: str) -> str:
    lines = ["Tandem: one small step a day, together."]
    for section in SECTIONS:
        lines.append("")
        lines.append(section)
        for command in REGISTRY:
            if command.section == section:
                lines.append(f"{command.usage or '/' + command.name}: {command.description}")
    return "\n".join(lines) + "\n\n" + footer.strip()


@dataclass(frozen=True)
class Press:
    """A button's room, and whether anyone may press it (else only the space's partners)."""

    handler: Callable[[Ctx, Any], Awaitable[list[Outgoing]]]
    anyone: bool = False


BUTTONS: dict[type, Press] = {
    actions.Forget: Press(yourdata.forget_tapped, anyone=True),
    actions.Side: Press(partners.side_tapped, anyone=True),
    actions.Answer: Press(taps.tap_answer),
    actions.Hurt: Press(hurt.tapped),
    actions.Note: Press(taps.note_in_form),
    actions.ShareNote: Press(taps.share_note),
    actions.Kept: Press(keeping.answer),
    actions.SharePromise: Press(keeping.share),
    actions.Carry: Press(keeping.carry),
    actions.Today: Press(questions.tapped),
    actions.AnswersPage: Press(questions.page_tapped),
    actions.PathChoice: Press(paths.tapped),
    actions.Run: Press(run_tapped, anyone=True),  # the command's own check decides
    actions.Offer: Press(talk_offer.chosen),
    actions.Repair: Press(repair.tapped),
    actions.ChooseZone: Press(setup.zone_chosen),
    actions.Setup: Press(setup.tapped),
    actions.Setting: Press(settings.tapped),
}
# Any other simple button is the pairing one.
SIMPLE = {
    actions.FORGET_NO: yourdata.kept,
    actions.PRIVACY_MORE: yourdata.privacy_in_full,
    actions.HELP_MORE: help_in_full,
}


async def press_anywhere(messenger: Messenger, incoming: Incoming) -> list[Outgoing] | None:
    """A button answered before any space is looked up, so none is made for it and nothing is
    written: "Remove this from the chat" (the safety room; anyone may press it). None for
    every other event."""
    if incoming.action is None or incoming.event is not None:
        return None
    action = actions.parse(incoming.action)
    if isinstance(action, actions.Remove):
        return await safety.remove_tapped(messenger, incoming, action)
    return None


async def press(ctx: Ctx, raw: str) -> list[Outgoing]:
    """A button tapped: handed to the room that made it."""
    action = actions.parse(raw)
    if isinstance(action, actions.Simple):
        return await SIMPLE.get(action.name, partners.pair_tapped)(ctx, action)
    found = BUTTONS.get(type(action))
    if (found is None or not found.anyone) and not ctx.is_partner:
        raise UserError(
            "You're not one of this space's partners yet. Send /start here to join, then tap "
            "again. Nothing was saved."
        )
    if found is None:
        raise UserError("That button isn't one I know any more. /help lists what I can do.")
    return await found.handler(ctx, action)
