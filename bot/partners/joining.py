"""A pairing link opened in a private chat, and Tandem removed from a chat or blocked in one."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import partners_of
from bot.errors import UserError
from bot.messages import Address, Incoming, Outgoing
from bot.partners import pairing
from bot.ports import Messenger
from bot.store import Member, Space


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
    if home.direct and home.chat_id == to.chat_id:
        others = [p for p in await partners_of(session, home) if p.private_chat]
        if others and others[0].private_chat is not None:
            home.chat_id = others[0].private_chat
        else:
            home.active = False
            home.deactivated_at = now
        session.add(home)
    return []
