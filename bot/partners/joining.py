"""A pairing link opened in a private chat, and Tandem removed from a chat or blocked in one."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Library
from bot.context import Ctx, partners_of
from bot.delivery import Job
from bot.errors import UserError
from bot.messages import Address, Incoming, Outgoing
from bot.partners import pairing
from bot.ports import Messenger
from bot.render import here_too_message
from bot.store import Member, Once, Space, Store, done, once

# Short: on Telegram it shares the tap's notice (200 characters) with the confirmation.
RELINK = "Your private chat with me is gone; answer here, or /pair to link one again."


def gone_key(member_id: int) -> str:
    """Marks a partner whose private chat went (blocked, deleted) and who is not told yet."""
    return f"gone:{member_id}"


async def redeem(
    session: AsyncSession, incoming: Incoming, code: str, now: datetime, messenger: Messenger
) -> list[Outgoing]:
    """ "/start <code>" in a private chat: a pairing link was opened."""
    pair = await pairing.find_code(session, code, now)
    space = await session.get(Space, pair.space_id)
    if space is None or not space.active:
        raise UserError("That space isn't active any more. Ask for a fresh link with /pair.")
    group = Address(space.platform, space.chat_id)
    if pair.kind == "group" and not await messenger.is_member(group, incoming.user_id):
        raise UserError(
            "I couldn't confirm that you're in the group this link belongs to, so I didn't "
            "link you. If you are in it, try the link again in a minute."
        )
    inviter = await session.get(Member, pair.inviter_id) if pair.inviter_id else None
    if inviter is not None and inviter.user_id == incoming.user_id:
        raise UserError("That's your own invitation: forward it to your partner to open.")
    member = await pairing.member_for(session, space, incoming.user_id, incoming.user_name, now)
    await pairing.make_partner(session, space, member, now)
    await pairing.link(session, space, member, incoming.to.chat_id)
    if pair.kind == "invite":
        await session.delete(pair)  # an invitation works once
    replies = [
        Outgoing(
            incoming.to,
            "🔒 Linked. This is your private chat with Tandem: your check-ins come here, and "
            "only you see your answers until you've both answered. /perspective chooses a "
            "few prompts for your side, privately. /unpair leaves.",
        )
    ]
    if inviter is not None and inviter.private_chat:
        replies.append(
            Outgoing(
                Address(space.platform, inviter.private_chat),
                f"💛 {member.display_name} joined you. Prompts and check-in reveals now reach "
                "both of you.",
            )
        )
    return replies


async def removed(
    session: AsyncSession, to: Address, space: Space | None, now: datetime
) -> list[Outgoing]:
    """Tandem was removed from a chat, or blocked in a private chat."""
    linked = await pairing.linked_member(session, to)
    if linked is None:
        if space is not None:
            space.active = False
            space.deactivated_at = now
            session.add(space)
        return []
    # A partner blocked Tandem in their private chat: only their link ends. With no group,
    # a space living in that chat moves to the other partner's chat (off if there is none).
    home, member = linked
    member.private_chat = None
    session.add(member)
    if home.id is not None and member.id is not None:
        await once(session, home.id, gone_key(member.id), now)
    if home.direct and home.chat_id == to.chat_id:
        others = [p for p in await partners_of(session, home) if p.private_chat]
        if others and others[0].private_chat is not None:
            home.chat_id = others[0].private_chat
        else:
            home.active = False
            home.deactivated_at = now
        session.add(home)
    return []


async def chat_gone(store: Store, library: Library, job: Job, now: datetime) -> Outgoing | None:
    """A send to a partner's private chat was refused for good (Tandem blocked, the chat
    deleted). They are marked to be told once how to link a chat again, and a check-in comes to
    the shared chat for them, once that day, as for a partner with no private chat; with no
    shared chat (a space in the private chats), nothing."""
    async with store.unit() as session:
        space = await session.get(Space, job.space_id)
        member = await session.get(Member, job.recipient)
        if space is None or space.id is None or member is None or member.id is None:
            return None
        if not member.partner:
            return None
        await once(session, space.id, gone_key(member.id), now)
        if job.kind != "checkin" or space.direct or not space.active or job.content_id is None:
            return None
        day = f"here:{job.local_date.isoformat()}:{member.id}"
        if not await once(session, space.id, day, now):
            return None
        question = library.scored_question(job.content_id)
        to = Address(space.platform, space.chat_id)
        return here_too_message(to, member.display_name, question, job.delivery_id)


async def told_once(ctx: Ctx) -> list[Outgoing]:
    """A partner whose private chat went, answering in the shared chat: told how to link one
    again, the first time only, and only to them."""
    member = ctx.member
    if ctx.private or member is None or member.id is None or member.private_chat is not None:
        return []
    assert ctx.space.id is not None
    key = gone_key(member.id)
    if not await done(ctx.session, ctx.space.id, key):
        return []
    await ctx.session.exec(delete(Once).where(Once.space_id == ctx.space.id, Once.key == key))  # type: ignore[arg-type]
    return [ctx.whisper(RELINK)]
