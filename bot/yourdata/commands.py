"""What Tandem keeps about a space: shown (/export), explained (/privacy) and erased (/forget)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, delete, select

from bot import actions
from bot.command import Command, Option, Who, not_a_partner
from bot.context import Ctx, partners_of, shared_addresses
from bot.errors import UserError
from bot.messages import Button, Outgoing
from bot.partners import pairing
from bot.store import (
    CheckinAnswer,
    ContentHistory,
    Delivery,
    Member,
    Once,
    PairCode,
    PathState,
    Promise,
    QuestionAnswer,
    Schedule,
    Space,
    erase_space,
)
from bot.tables import RepairPart
from bot.yourdata import export

FORGET_TTL = timedelta(minutes=10)


async def cmd_export(ctx: Ctx, args: str) -> list[Outgoing]:
    """Two files where only the asker sees them: one to read, and a clean JSON."""
    private = ctx.private_address()
    to_private = not ctx.private and private is not None
    with_private = ctx.can_whisper or to_private
    if not with_private:
        # A file in a group reaches everyone there, and it would hold the asker's own scores
        # (even those kept under /reveal never): it only ever goes where only they see it.
        return [
            ctx.reply(
                "📦 An export only goes where only you see it, never to a shared chat. Link your "
                "private chat with /pair, then send /export there."
            )
        ]
    data = await export.gather(
        ctx.session, ctx.space, ctx.member, with_private, ctx.library, ctx.now
    )
    readable, clean = export.files(data, ctx.space.timezone, ctx.now)
    text = (
        "📦 Everything Tandem keeps about this space that you may see, with your own private "
        "notes: to read, by day, in your local time."
    )
    raw = "📦 The same as JSON, for another app."
    if to_private and private is not None:
        return [
            Outgoing(private, text, attachment=readable, protect=True),
            Outgoing(private, raw, attachment=clean, protect=True),
            ctx.whisper("📦 Sent to your private chat with me."),
        ]
    return [
        ctx.whisper(text, attachment=readable, protect=ctx.private),
        ctx.whisper(raw, attachment=clean, protect=ctx.private),
    ]


async def cmd_forget(ctx: Ctx, args: str) -> list[Outgoing]:
    scope = args.strip().lower()
    if scope not in ("", "me", "all", "everything"):
        raise UserError(
            "Send /forget to erase this whole space, or /forget me for only your answers."
        )
    if scope == "me" and ctx.private and (ctx.member is None or not ctx.member.partner):
        left = await left_behind(ctx)
        if left:
            # Someone who left a space (/unpair, or blocked and came back) can still erase what
            # they left there, from their own private chat, for as long as Tandem keeps it.
            yes = Button("Yes, erase mine", actions.forget("left", left[0].id or 0, ctx.now))
            return [
                ctx.whisper(
                    "⚠️ This erases your own check-in answers, notes and promises in the "
                    f"{'space' if len(left) == 1 else f'{len(left)} spaces'} you've left. It "
                    "can't be undone. Only you can confirm, within 10 minutes.",
                    buttons=(yes, Button("Cancel", actions.FORGET_NO)),
                )
            ]
    if ctx.member is None or ctx.member.id is None:
        raise UserError("There's nothing of yours here to erase.")
    if scope == "me":
        warning = (
            "⚠️ This erases your own check-in answers, notes and promises here, and takes you out "
            "of this space. It can't be undone. (/export first if you want a copy.)"
        )
        yes = Button("Yes, erase mine", actions.forget("me", ctx.member.id, ctx.now))
    else:
        if not ctx.member.partner:
            raise not_a_partner(ctx)
        warning = (
            "⚠️ This erases this space: its settings, schedule and shared history, and your own "
            "check-ins, notes and promises. Your partner's own answers, notes and promises stay "
            "theirs, for them to keep or erase. It can't be undone. (/export first if you want "
            "a copy.)"
        )
        yes = Button("Yes, erase everything", actions.forget("all", ctx.member.id, ctx.now))
    buttons = (yes, Button("Cancel", actions.FORGET_NO))
    return [ctx.reply(warning + " Only you can confirm, within 10 minutes.", buttons=buttons)]


async def left_behind(ctx: Ctx) -> list[Member]:
    """This person's rows in spaces on this platform that they have left (no longer a partner)."""
    found = await ctx.session.exec(
        select(Member)
        .join(Space, col(Space.id) == Member.space_id)
        .where(
            Space.platform == ctx.space.platform,
            Member.user_id == ctx.incoming.user_id,
            col(Member.partner).is_(False),
            Member.space_id != ctx.space.id,
        )
        .order_by(col(Member.id))
    )
    return list(found.all())


async def forget_left_behind(ctx: Ctx, action: actions.Forget) -> list[Outgoing]:
    left = await left_behind(ctx)
    if not any(m.id == action.member_id for m in left):
        raise UserError("Only the person who asked can confirm this. Nothing was erased.")
    for member in left:
        space = await ctx.session.get(Space, member.space_id)
        if space is not None:
            await pairing.leave(ctx.session, space, member, erase=True)  # no line: long gone
    ctx.after_commit.append(ctx.services.scrub)
    return [ctx.whisper("🧹 Done. What you left in those spaces is erased.")]


SHARED_GONE = "🧹 This space's schedule and shared history are erased."


async def confirm_forget(ctx: Ctx, action: actions.Forget) -> list[Outgoing]:
    if action.scope == "left":
        if ctx.now.timestamp() - action.asked_at > FORGET_TTL.total_seconds():
            raise UserError(
                "That confirmation has expired. Send /forget me again if you still want to."
            )
        return await forget_left_behind(ctx, action)
    member = ctx.member
    if member is None or member.id != action.member_id:
        raise UserError("Only the person who asked can confirm this. Nothing was erased.")
    if ctx.now.timestamp() - action.asked_at > FORGET_TTL.total_seconds():
        raise UserError("That confirmation has expired. Send /forget again if you still want to.")
    if action.scope == "me":
        private = ctx.private_address()
        notices = await pairing.leave(ctx.session, ctx.space, member, erase=True)
        ctx.after_commit.append(ctx.services.scrub)
        done_text = (
            "🧹 Done. Your answers, notes and promises here are erased, and you've left this space."
        )
        replies = [Outgoing(private, done_text)] if private else [ctx.whisper(done_text)]
        return replies + [n for n in notices if n.to != private]
    if not member.partner:
        raise not_a_partner(ctx)
    partners = await partners_of(ctx.session, ctx.space)
    addresses = shared_addresses(ctx.space, partners)
    keepers = [p for p in partners if p.id != member.id and await has_records(ctx, p)]
    if not keepers:
        await erase(ctx)
        text = (
            "🧹 Done. Everything Tandem kept about this space is erased. "
            "If you want to start again some day, send /start."
        )
        if ctx.incoming.to not in addresses:
            addresses.append(ctx.incoming.to)
        return [Outgoing(to, text) for to in addresses]
    # One partner may not destroy the other's records (someone may be keeping them for their
    # own safety): the shared space and the asker's own data go; the other's stay theirs.
    notice_to = {p.id: ctx.private_address(p) for p in keepers}
    mine = ctx.private_address()  # before leaving: it is the asker's own chat still
    await erase_shared(ctx, member, keepers)
    done = (
        "🧹 Done. This space's schedule and shared history are erased, with your own answers, "
        "notes and promises, and you've left it. Your partner's own records stay theirs, for "
        "them to keep or erase."
    )
    notice = (
        "This shared space was erased. Your own answers, notes and promises stay yours: /export "
        "shows them, /forget me erases them."
    )
    # The asker's own words go to the asker alone; the shared chat gets a neutral line.
    replies = [Outgoing(mine, done) if mine is not None else ctx.whisper(done)]
    replies += [Outgoing(to, SHARED_GONE) for to in addresses if to != mine]
    for keeper in keepers:
        to = notice_to[keeper.id]
        if to is not None:
            replies.append(Outgoing(to, notice, protect=True))
        elif notice not in [r.text for r in replies]:
            replies += [Outgoing(a, notice) for a in addresses]
    return replies


async def has_records(ctx: Ctx, member: Member) -> bool:
    for model in (CheckinAnswer, QuestionAnswer, Promise, RepairPart):
        found = await ctx.session.exec(
            select(model.id).where(
                model.space_id == ctx.space.id,
                model.member_id == member.id,
            )
        )
        if found.first() is not None:
            return True
    return False


async def erase_shared(ctx: Ctx, asker: Member, keepers: list[Member]) -> None:
    """Erases the space's shared parts and the asker's own data, keeping each keeper's own
    answers, notes, promises and side history. The space stays, quiet (nothing is scheduled),
    so that their private chat still reaches their records, to export or forget."""
    await pairing.leave(ctx.session, ctx.space, asker, erase=True)
    space_id = ctx.space.id
    kept = [k.id for k in keepers]
    for model in (Delivery, Schedule, PairCode, Once, PathState):
        await ctx.session.exec(delete(model).where(col(model.space_id) == space_id))
    await ctx.session.exec(
        delete(ContentHistory).where(
            col(ContentHistory.space_id) == space_id, col(ContentHistory.member_id).not_in(kept)
        )
    )
    ctx.after_commit.append(ctx.services.scrub)


async def cmd_privacy(ctx: Ctx, args: str) -> list[Outgoing]:
    """The short, true answer first; everything, in detail, a tap away."""
    short = ctx.library.texts.privacy_short
    if not short:
        return await privacy_in_full(ctx, actions.Simple(actions.PRIVACY_MORE))
    more = Button("Everything, in detail", actions.PRIVACY_MORE)
    return [ctx.reply(with_periods(ctx, short), buttons=(more,))]


async def privacy_in_full(ctx: Ctx, action: actions.Simple) -> list[Outgoing]:
    return [ctx.reply(with_periods(ctx, ctx.library.texts.privacy))]


# Where the key that opens notes is (datakey.KeyPlace), in /privacy's words: the truth, also
# when the host has not yet moved it away from the database.
KEY_PLACES = {
    "apart": "in a file apart from the database, kept by whoever runs this bot",
    "environment": "in the settings of whoever runs this bot, apart from the database",
    "beside": (
        "for now in a file beside the database, so a copy of both could read them "
        "(whoever runs this bot is asked to move it at every start)"
    ),
}


def with_periods(ctx: Ctx, text: str) -> str:
    keep = ctx.services.retention
    return text.format(
        note_days=keep.note_days,
        inactive_days=keep.inactive_days,
        key_place=KEY_PLACES.get(ctx.services.key_place, KEY_PLACES["apart"]),
    )


async def erase(ctx: Ctx) -> None:
    """The whole space, in this transaction; its rows are scrubbed from the file after the commit."""
    await erase_space(ctx.session, ctx.space)
    ctx.after_commit.append(ctx.services.scrub)


async def forget_tapped(ctx: Ctx, action: actions.Forget) -> list[Outgoing]:
    return await confirm_forget(ctx, action)


async def kept(ctx: Ctx, action: actions.Simple) -> list[Outgoing]:
    return [ctx.whisper("Kept as it was. Nothing was erased.")]


COMMANDS = (
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
)
