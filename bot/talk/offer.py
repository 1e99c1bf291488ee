"""Words a partner types in their private chat, offered back as today's note: kept private,
shared at the reveal (or with the partner at once, when the day's reveal is out), or not kept.
Until they choose, the words wait sealed in `noteoffer`; "Don't keep" deletes them for real."""

from __future__ import annotations

from dataclasses import replace

from bot import actions
from bot.checkins import answers, taps
from bot.context import Ctx, partners_of
from bot.errors import UserError
from bot.messages import Button, Outgoing
from bot.render import day_label, one_line
from bot.store import NoteOffer

KEEP = "Keep private"
SHARE = "Share at the reveal"
DROP = "Don't keep"
GONE = (
    "Those words aren't waiting for a choice any more: you chose already, or they waited more "
    "than a day and were let go. This tap changed nothing. Words you kept are your note for "
    "that day (/export shows it); type them again if you'd like to keep them now."
)
DROPPED = "🗑 Not kept: nothing of it is stored."


async def offer(ctx: Ctx, text: str) -> list[Outgoing]:
    """ "Keep this as today's private note?", with the choices. After the day's reveal, "Share at
    the reveal" would promise what can't happen: "Share with <partner>" shows it to them now."""
    assert ctx.member is not None and ctx.member.id is not None and ctx.space.id is not None
    cleaned = answers.clean_note(text)
    row = NoteOffer(
        space_id=ctx.space.id,
        member_id=ctx.member.id,
        local_date=ctx.today,
        text=cleaned,
        created_at=ctx.now,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    assert row.id is not None
    buttons = [Button(KEEP, actions.offer(row.id, "keep"))]
    if not await answers.done_day(ctx.session, ctx.space, ctx.today):
        buttons.append(Button(SHARE, actions.offer(row.id, "share")))
    else:
        partners = await partners_of(ctx.session, ctx.space)
        other = next((p for p in partners if p.id != ctx.member.id), None)
        if other is not None:
            label = f"Share with {one_line(other.display_name)[:24]}"
            buttons.append(Button(label, actions.offer(row.id, "share_now")))
    buttons.append(Button(DROP, actions.offer(row.id, "drop")))
    return [ctx.whisper(ctx.library.talk.offer, buttons=tuple(buttons), protect=True)]


async def chosen(ctx: Ctx, action: actions.Offer) -> list[Outgoing]:
    """The choice, answered in place of the offer: its buttons go, so no later tap on them
    can seem to undo it."""
    replies = await _chosen(ctx, action)
    if replies and ctx.incoming.message_ref is not None:
        replies[0] = replace(replies[0], edit=ctx.incoming.message_ref)
    return replies


async def _chosen(ctx: Ctx, action: actions.Offer) -> list[Outgoing]:
    assert ctx.member is not None
    row = await ctx.session.get(NoteOffer, action.offer_id)
    if row is None or row.member_id != ctx.member.id or row.space_id != ctx.space.id:
        raise UserError(GONE)
    await ctx.session.delete(row)
    if action.choice == "drop":
        ctx.after_commit.append(ctx.services.scrub)  # no old copy of the words stays in the file
        return [ctx.whisper(DROPPED)]
    partners = await partners_of(ctx.session, ctx.space)
    rec = await answers.record(
        ctx.session, ctx.space, ctx.member, partners, row.local_date, ctx.now, note=row.text
    )
    rec.answer.share_note = action.choice != "keep"
    ctx.session.add(rec.answer)
    await ctx.session.flush()
    if action.choice == "keep":
        return [
            ctx.whisper(
                f"🔒 Kept as your private note for {day_label(row.local_date)}. Only you will "
                "see it; /progress marks the day with 📝."
            )
        ]
    assert rec.answer.id is not None
    return await taps.share_note(ctx, actions.ShareNote(rec.answer.id, True))
