"""What Tandem keeps about a space: shown (/export), explained (/privacy) and erased (/forget)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlmodel import col, delete, select

from bot import actions
from bot.checkins.answers import complete_days, score_of, skipped
from bot.checkins.answers import shown as is_shown
from bot.command import NOT_A_PARTNER, Command, Option, Who
from bot.context import Ctx, partners_of, shared_addresses
from bot.errors import UserError
from bot.messages import Attachment, Button, Outgoing
from bot.partners import pairing
from bot.promises import keeping as promises
from bot.questions.words import export_rows as question_rows
from bot.repair.state import RepairPart
from bot.repair.state import export_rows as repair_rows
from bot.store import (
    CheckinAnswer,
    ContentHistory,
    Delivery,
    Member,
    Once,
    PairCode,
    Promise,
    QuestionAnswer,
    Schedule,
    Space,
    erase_space,
)

FORGET_TTL = timedelta(minutes=10)


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
    present = {m.id for m in members}
    checkins = []
    for answer in (
        await session.exec(
            select(CheckinAnswer)
            .where(CheckinAnswer.space_id == space.id)
            .order_by(col(CheckinAnswer.local_date), col(CheckinAnswer.member_id))
        )
    ).all():
        mine = member is not None and answer.member_id == member.id
        shown = is_shown(space, answer, revealed)
        # Someone who left keeps their answers out of the space's export: whoever takes the
        # free seat later sees nothing of them (they can still /forget me).
        if not mine and (not shown or answer.member_id not in present):
            continue
        row = answer.model_dump(exclude={"space_id", "note", "share_note", "tap", "took_part"})
        row["score"], row["skipped"] = score_of(answer), skipped(answer)
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
        # Today's question: the asker's own answers, the other's only as revealed to them.
        "question_answers": await question_rows(session, space, member, with_private),
        # /repair talks: the asker's own parts, their words where private things may go.
        "repair_talks": await repair_rows(session, space, member, with_private),
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
    if not with_private:
        # A file in a group reaches everyone there, and it would hold the asker's own scores
        # (even those kept under /reveal never): it only ever goes where only they see it.
        return [
            ctx.reply(
                "📦 An export only goes where only you see it, never to a shared chat. Link your "
                "private chat with /pair, then send /export there."
            )
        ]
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
    return [ctx.whisper(text, attachment=file, protect=ctx.private)]


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
            raise UserError(NOT_A_PARTNER)
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
        raise UserError(NOT_A_PARTNER)
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
    replies = [Outgoing(to, done) for to in {*addresses, ctx.incoming.to}]
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
    for model in (Delivery, Schedule, PairCode, Once):
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
