"""Where a word about safety may go: only ever to the person who wrote, never to a log; /support,
and the crisis words read in private chats and notes."""

from __future__ import annotations

from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import actions
from bot.command import Command, Option
from bot.content import Library
from bot.context import Ctx
from bot.crisis.texts import SUPPORT_START
from bot.messages import Address, Button, Incoming, Outgoing
from bot.paths.progress import REST_DAYS, rest
from bot.ports import Messenger
from bot.store import Member, Space

REMOVE_LABEL = "Remove this from the chat"
REMOVED = "Removed."
THEIRS_KEPT = "Removed. Your own message before it is still there: you can delete it yourself."
NOT_REMOVED = (
    "I couldn't remove it: it may be gone already, or be too old for me. You can delete it "
    "yourself."
)
ONLY_YOURS = "Only you saw that, and there's nothing of it in the chat for me to remove."


def remove_button(incoming: Incoming, to: Address) -> tuple[Button, ...]:
    """ "Remove this from the chat", for a word about safety going to `to`: someone may look at
    this phone. Their own message that led to it goes too where it sits in that same private
    chat (a message they wrote, not a tap); the adapter leaves the button off a reply that
    vanishes by itself (a Discord ephemeral)."""
    mine = incoming.direct and incoming.action is None and to == incoming.to
    return (Button(REMOVE_LABEL, actions.remove(incoming.message_ref if mine else None)),)


async def remove_tapped(
    messenger: Messenger, incoming: Incoming, action: actions.Remove
) -> list[Outgoing]:
    """The button tapped: Tandem's message goes, and the person's own with it where there was
    one. Only ever in a private chat: the answer is for them alone, and no one else hears of it.
    Needs no space and no partner, and writes nothing down."""
    if not incoming.direct or incoming.message_ref is None:
        # The button sits on private-chat messages only; elsewhere it was on a reply shown to
        # this person alone (a tap's notice, the console's private line).
        return [Outgoing(incoming.to, ONLY_YOURS, private=True)]
    ours = await messenger.delete(incoming.to, incoming.message_ref)
    theirs = action.theirs is None or await messenger.delete(incoming.to, action.theirs)
    if not ours:
        return [Outgoing(incoming.to, NOT_REMOVED, private=True)]
    return [Outgoing(incoming.to, REMOVED if theirs else THEIRS_KEPT, private=True)]


def privately(ctx: Ctx, text: str) -> list[Outgoing]:
    """`text` for the person who wrote, where only they see it: this private chat, their linked
    private chat, or a reply only they see (a Discord ephemeral). [] where none of those exists:
    then it is better to say nothing than to say it in front of the partner."""
    here = ctx.incoming.to
    if ctx.private:
        return [ctx.whisper(text, protect=True, buttons=remove_button(ctx.incoming, here))]
    linked = ctx.private_address()
    if linked is not None:
        return [Outgoing(linked, text, protect=True, buttons=remove_button(ctx.incoming, linked))]
    if ctx.incoming.whisper:
        return [ctx.whisper(text, buttons=remove_button(ctx.incoming, here))]
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


# To the writer alone, with the crisis help, when their space is on a guided path.
PATH_RESTS = (
    f"🌿 For the next {REST_DAYS} days your path will suggest nothing for the two of you to do "
    "together; your partner isn't told why. Some time with someone just for you, a counsellor "
    "or one of the lines above, can help. Whenever you feel ready, /path resume brings the "
    "steps back."
)


async def care_replies(ctx: Ctx, text: str, after: str = "") -> list[Outgoing]:
    """crisis_replies, and the couple's path rests from couple exercises: its writer hears of
    it privately, with the help; the partner only sees a quiet day, never why."""
    if not ctx.library.safety.needs(text):
        return []
    assert ctx.space.id is not None
    member_id = ctx.member.id if ctx.member is not None else None
    if await rest(ctx.session, ctx.space.id, member_id, ctx.today):
        after = f"{after}\n\n{PATH_RESTS}".strip()
    return crisis_replies(ctx, text, after)


async def rest_for_words(
    session: AsyncSession, space: Space | None, member: Member | None, today: date
) -> str:
    """Crisis words typed freely in a private chat: the space's path rests, as above; the line
    for the writer, or "" when the space is on no path."""
    if space is None or space.id is None or member is None:
        return ""
    return PATH_RESTS if await rest(session, space.id, member.id, today) else ""


# The same words whatever brought them: nothing in them says why.
OPEN_PRIVATELY = "🔒 Tap to open your private chat with me."


def private_words(
    library: Library, incoming: Incoming, space: Space | None, default_zone: str
) -> list[Outgoing]:
    """Free text typed to Tandem in a private chat is read for crisis words first: a gentle
    word back if it holds one, else nothing here (the router then hands plain words to
    bot/talk/, and never writes a log line either way)."""
    if not incoming.direct:
        return []
    found = library.safety
    needs = found.needs(incoming.text)
    if not needs:
        return []
    zone = space.timezone if space is not None else default_zone
    reply = found.crisis_reply(needs, zone)
    buttons = remove_button(incoming, incoming.to)
    return [Outgoing(incoming.to, reply, private=True, protect=True, buttons=buttons)]


def support_here(library: Library, incoming: Incoming, args: str) -> Outgoing:
    """A /support button from a shared chat opened this private chat: the answer comes here.
    "support-GB": the region that chat's timezone suggested; "support-de" (small letters): the
    country asked for with /support Germany."""
    code = args.partition("-")[2] or None
    if code is not None and len(code) == 2 and code.islower():
        text = library.safety.support(library.texts.support, None, asked=code.upper())
    else:
        text = library.safety.support(library.texts.support, None, code)
    return Outgoing(incoming.to, text, protect=True, buttons=remove_button(incoming, incoming.to))


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
