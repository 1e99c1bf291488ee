"""Partners and their private chats: joining a space, linking a private chat, and leaving."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import MAX_PARTNERS, partners_of, reschedule, schedules_of, shared_addresses
from bot.errors import UserError
from bot.messages import Address, Outgoing
from bot.render import one_line
from bot.store import (
    CheckinAnswer,
    ContentHistory,
    Delivery,
    Member,
    NoteOffer,
    PairCode,
    Promise,
    QuestionAnswer,
    Schedule,
    Space,
    erase_space,
    insert_new,
)

CODE_TTL = timedelta(hours=24)
CODE_BYTES = 18  # 144 random bits; 24 URL-safe characters, inside Telegram's 64 for ?start=


def digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def make_code(
    session: AsyncSession, space: Space, kind: str, now: datetime, inviter: Member | None = None
) -> str:
    """A fresh random code; only its hash is stored, and it carries no ids."""
    assert space.id is not None
    code = secrets.token_urlsafe(CODE_BYTES)
    session.add(
        PairCode(
            code_hash=digest(code),
            space_id=space.id,
            kind=kind,
            inviter_id=inviter.id if inviter else None,
            expires_at=now + CODE_TTL,
        )
    )
    await session.flush()
    return code


async def find_code(session: AsyncSession, code: str, now: datetime) -> PairCode:
    found = await session.exec(select(PairCode).where(PairCode.code_hash == digest(code.strip())))
    pair = found.first()
    if pair is None or pair.expires_at <= now:
        raise UserError(
            "That link has expired or was already used. Ask for a fresh one: /pair in your "
            "shared chat (or in your private chat with me, to invite your partner)."
        )
    return pair


async def member_for(
    session: AsyncSession, space: Space, user_id: str, name: str, now: datetime
) -> Member:
    found = await session.exec(
        select(Member).where(Member.space_id == space.id, Member.user_id == user_id)
    )
    member = found.first()
    name = one_line(name or "someone")[:128] or "someone"  # a name is quoted in many lines
    if member is None:
        assert space.id is not None
        fresh = Member(space_id=space.id, user_id=user_id, display_name=name, joined_at=now)
        await insert_new(
            session, Member, ["space_id", "user_id"], **fresh.model_dump(exclude={"id"})
        )
        found = await session.exec(
            select(Member).where(Member.space_id == space.id, Member.user_id == user_id)
        )
        member = found.one()
    elif member.display_name != name:
        member.display_name = name
        session.add(member)
    return member


async def make_partner(session: AsyncSession, space: Space, member: Member, now: datetime) -> None:
    """Registers a partner; a space is for two."""
    if member.partner:
        return
    # Two people may become partners of one space at the same moment, each seeing no partner yet
    # (both would start the look back, and three could join a space for two). Their transactions
    # take turns here: the space's row is locked until the first commits, and the second then
    # sees the first partner. NO KEY UPDATE, because each already holds a key-share lock on the
    # space through its member row; a plain FOR UPDATE would deadlock them. SQLite has one writer.
    await session.exec(select(Space.id).where(Space.id == space.id).with_for_update(key_share=True))
    partners = await partners_of(session, space)
    if len(partners) >= MAX_PARTNERS:
        raise UserError(
            "This space already has its two partners. If that's not right, one of them can "
            "leave with /unpair. For Tandem of your own, start it in another chat."
        )
    member.partner = True
    session.add(member)
    if not partners:
        await _begin_weekly(session, space, now)


async def _begin_weekly(session: AsyncSession, space: Space, now: datetime) -> None:
    """A space with its first partner gets the look back: Sundays at 19:00, until /weekly off."""
    if "weekly" in await schedules_of(session, space):
        return
    assert space.id is not None
    weekly = Schedule(space_id=space.id, kind="weekly", local_time="19:00", weekdays="sun")
    reschedule(session, weekly, space.timezone, now)


async def linked_member(session: AsyncSession, to: Address) -> tuple[Space, Member] | None:
    """The space and partner a private chat belongs to, if it is linked."""
    found = await session.exec(
        select(Space, Member)
        .join(Member, col(Member.space_id) == Space.id)
        .where(Space.platform == to.platform, Member.private_chat == to.chat_id)
    )
    row = found.first()
    return (row[0], row[1]) if row is not None else None


async def link(session: AsyncSession, space: Space, member: Member, chat_id: str) -> None:
    """One private chat belongs to one space: linking it here unlinks it anywhere else.

    A solo space that already lives in that chat is folded away if nothing was recorded in it;
    one with history is kept, and the person is asked to erase it first (never lost silently).
    """
    found = await session.exec(
        select(Space).where(Space.platform == space.platform, Space.chat_id == chat_id)
    )
    own = found.first()
    if own is not None and own.id != space.id:
        answers = await session.exec(
            select(CheckinAnswer.id).where(CheckinAnswer.space_id == own.id).limit(1)
        )
        if answers.first() is not None:
            raise UserError(
                "This private chat already has your own Tandem history. To join your partner, "
                "first /export it if you want a copy, then /forget it here, and open the link again."
            )
        await erase_space(session, own)
        await session.flush()
    others = await session.exec(
        select(Member)
        .join(Space, col(Space.id) == Member.space_id)
        .where(Space.platform == space.platform, Member.private_chat == chat_id)
    )
    for other in others.all():
        if other.id != member.id:
            other.private_chat = None
            session.add(other)
    member.private_chat = chat_id
    session.add(member)


async def leave(
    session: AsyncSession, space: Space, member: Member, *, erase: bool = False
) -> list[Outgoing]:
    """A partner leaves the space: unlinked, no longer a partner; the others see a neutral line.

    With `erase`, their own answers, notes and side prompts go too (/forget me).
    """
    name = member.display_name
    was_home = space.direct and member.private_chat == space.chat_id
    member.partner = False
    member.private_chat = None
    member.side = None
    session.add(member)
    await session.flush()
    remaining = await partners_of(session, space)
    if was_home:
        # With no group, the space lives in its first partner's chat: it moves to the other's.
        home = next((p for p in remaining if p.private_chat), None)
        if home is not None and home.private_chat is not None:
            space.chat_id = home.private_chat
        else:
            space.active = False
        session.add(space)
    if erase:
        mine = select(Promise.id).where(Promise.member_id == member.id)
        await session.exec(
            delete(Delivery).where(
                col(Delivery.space_id) == space.id,
                (col(Delivery.recipient) == member.id) | col(Delivery.promise_id).in_(mine),
            )
        )
        for model in (NoteOffer, CheckinAnswer, QuestionAnswer, ContentHistory, Promise):
            await session.exec(
                delete(model).where(
                    col(model.space_id) == space.id, col(model.member_id) == member.id
                )
            )
        await session.delete(member)
    if not space.active:
        return []
    line = f"{name} left this space."
    return [Outgoing(to, line) for to in shared_addresses(space, remaining)]
