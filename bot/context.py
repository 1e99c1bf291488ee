"""What a handler works with (one transaction, the space, who spoke, where, when, the content,
and the few things it asks of the running bot), and the helpers every room uses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chart import ChartData
from bot.content import Library
from bot.delivery import DispatchReport, Job
from bot.housekeeping import Retention
from bot.messages import Address, Attachment, Incoming, Outgoing
from bot.ports import Messenger
from bot.schedule import first_due, local_date
from bot.store import Member, Schedule, Space

MAX_PARTNERS = 2
# Platforms where Tandem opens a person's private chat itself, on a command (Discord's DMs);
# everywhere else a deep link opens it (Telegram's t.me/<bot>?start=<code>).
DM_BY_COMMAND = frozenset({"discord"})

AfterCommit = Callable[[], Awaitable[list[Outgoing] | None]]


class Place(StrEnum):
    SHARED = "shared"  # the couple's group, channel or shared console
    PRIVATE = "private"  # one partner's own chat with Tandem


class Services(Protocol):
    """What a handler may ask of the running bot beyond its transaction (the router gives it)."""

    @property
    def messenger(self) -> Messenger: ...

    @property
    def retention(self) -> Retention: ...

    @property
    def instance(self) -> str:
        """This process, as its claims on deliveries name it."""
        ...

    @property
    def key_place(self) -> str:
        """Where the data key is kept (datakey.KeyPlace), for /privacy."""
        ...

    async def scrub(self) -> None:
        """Makes erased rows unrecoverable from the database file (after the commit)."""

    async def unlink(self, member_id: int | None) -> None:
        """Forgets a partner's private chat, in a transaction of its own."""

    async def picture(self, data: ChartData | None, name: str) -> Attachment | None:
        """The chart drawn as a PNG, or None when there is nothing to draw or drawing failed."""

    async def send_jobs(self, jobs: list[Job]) -> DispatchReport:
        """Sends deliveries this process claimed itself (a check-in asked for now)."""


@dataclass
class Ctx:
    """One incoming event being answered, inside one open transaction."""

    library: Library
    services: Services
    session: AsyncSession
    space: Space
    member: Member | None
    incoming: Incoming
    now: datetime
    place: Place
    after_commit: list[AfterCommit] = field(default_factory=list)

    def reply(self, text: str, **kwargs: Any) -> Outgoing:
        return Outgoing(self.incoming.to, text, **kwargs)

    def whisper(self, text: str, **kwargs: Any) -> Outgoing:
        """A reply meant for the person who asked alone, as privately as this platform can."""
        return Outgoing(self.incoming.to, text, private=True, **kwargs)

    @property
    def private(self) -> bool:
        return self.place is Place.PRIVATE

    @property
    def can_whisper(self) -> bool:
        """A private reply here reaches only this person (a private chat, an ephemeral reply)."""
        return self.private or self.incoming.whisper

    @property
    def today(self) -> date:
        return local_date(self.now, self.space.timezone)

    def private_address(self, member: Member | None = None) -> Address | None:
        who = member or self.member
        if who is None or who.private_chat is None:
            return None
        return Address(self.space.platform, who.private_chat)

    @property
    def is_partner(self) -> bool:
        return self.member is not None and self.member.partner


def shared_addresses(space: Space, partners: list[Member]) -> list[Address]:
    """Where the couple's shared things go: their group, or (with no group) each private chat."""
    if not space.direct:
        return [Address(space.platform, space.chat_id)]
    return [Address(space.platform, m.private_chat) for m in partners if m.private_chat]


async def partners_of(session: AsyncSession, space: Space) -> list[Member]:
    found = await session.exec(
        select(Member)
        .where(Member.space_id == space.id, col(Member.partner))
        .order_by(col(Member.id))
    )
    return list(found.all())


async def schedules_of(session: AsyncSession, space: Space) -> dict[str, Schedule]:
    result = await session.exec(select(Schedule).where(Schedule.space_id == space.id))
    return {s.kind: s for s in result.all()}


def reschedule(session: AsyncSession, schedule: Schedule, zone: str, now: datetime) -> None:
    """Recomputes when a schedule is next due, after any change to it, its space or its pause."""
    paused = schedule.paused_until
    if paused is not None and paused <= now:
        schedule.paused_until = paused = None
    schedule.next_due_at = first_due(schedule.local_time, schedule.weekdays, zone, now, paused)
    session.add(schedule)
