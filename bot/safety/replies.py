"""Where a word about safety may go: only ever to the person who wrote, never to a log; /support,
and the crisis words read in private chats and notes."""

from __future__ import annotations

from bot.command import Command, Option
from bot.content import Library
from bot.context import Ctx
from bot.messages import Button, Incoming, Outgoing
from bot.safety.crisis import SUPPORT_START
from bot.store import Space


def privately(ctx: Ctx, text: str) -> list[Outgoing]:
    """`text` for the person who wrote, where only they see it: this private chat, their linked
    private chat, or a reply only they see (a Discord ephemeral). [] where none of those exists:
    then it is better to say nothing than to say it in front of the partner."""
    if ctx.private:
        return [ctx.whisper(text, protect=True)]
    linked = ctx.private_address()
    if linked is not None:
        return [Outgoing(linked, text, protect=True)]
    if ctx.incoming.whisper:
        return [ctx.whisper(text)]
    return []


def crisis_replies(ctx: Ctx, text: str, after: str = "") -> list[Outgoing]:
    """A gentle private word with the right lines, if `text` holds a reviewed crisis phrase.

    Nothing about it is logged, and nothing reaches the partner; [] when nothing matched. Where
    there is no private place yet, a neutral line with a button opens one, and the help is
    given there: the line says nothing of why, since the partner may read it.
    """
    found = ctx.library.safety
    needs = found.needs(text)
    if not needs:
        return []
    body = found.crisis_reply(needs, ctx.space.timezone)
    said = privately(ctx, f"{body}\n{after}".strip() if after else body)
    if said:
        return said
    region = found.region(ctx.space.timezone)
    code = f"{SUPPORT_START}-{region.code}" if region else SUPPORT_START
    return [ctx.reply(OPEN_PRIVATELY, buttons=(Button("Open my private chat", start=code),))]


# The same words whatever brought them: nothing in them says why.
OPEN_PRIVATELY = "🔒 Tap to open your private chat with me."


def private_words(
    library: Library, incoming: Incoming, space: Space | None, default_zone: str
) -> list[Outgoing]:
    """Free text typed to Tandem in a private chat is read for crisis words only: a gentle
    word back if it holds one, else nothing (and never a log line either way)."""
    if not incoming.direct:
        return []
    found = library.safety
    needs = found.needs(incoming.text)
    if not needs:
        return []
    zone = space.timezone if space is not None else default_zone
    reply = found.crisis_reply(needs, zone)
    return [Outgoing(incoming.to, reply, private=True, protect=True)]


def support_here(library: Library, incoming: Incoming, args: str) -> Outgoing:
    """A /support button from a shared chat opened this private chat: the answer comes here.
    "support-GB": the region that chat's timezone suggested; "support-de" (small letters): the
    country asked for with /support Germany."""
    code = args.partition("-")[2] or None
    if code is not None and len(code) == 2 and code.islower():
        text = library.safety.support(library.texts.support, None, asked=code.upper())
    else:
        text = library.safety.support(library.texts.support, None, code)
    return Outgoing(incoming.to, text, protect=True)


async def cmd_support(ctx: Ctx, args: str) -> list[Outgoing]:
    """Answered where the partner can't see it: in a shared chat it would be in front of them.
    `/support Germany` (or DE, UK, India) gives that country's lines; without one, the lines
    for the country of the space's timezone."""
    library = ctx.library
    zone = ctx.space.timezone
    text = library.safety.support(library.texts.support, zone, asked=args)
    sent = privately(ctx, text)
    if sent:
        if sent[0].to != ctx.incoming.to:
            sent.append(ctx.whisper("🔒 I've answered in your private chat with me."))
        return sent
    asked = library.safety.country(args)
    region = library.safety.region(zone)
    if asked is not None:
        code = f"{SUPPORT_START}-{asked.lower()}"
    else:
        code = f"{SUPPORT_START}-{region.code}" if region else SUPPORT_START
    return [
        ctx.reply(
            "🔒 I'll answer that in your private chat with me. Tap below to open it.",
            buttons=(Button("Open my private chat", start=code),),
        )
    ]


COUNTRY = Option("country", "Your country, for its helplines (Germany, DE, UK...)", max_length=60)
COMMANDS = (
    Command(
        "support",
        "Finding a counsellor; help in danger",
        cmd_support,
        "Help",
        usage="/support [country]",
        options=(COUNTRY,),
    ),
)
