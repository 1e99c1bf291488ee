"""What the engine hands between its parts: a claimed job, a partner, a target, a report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.messages import Address


@dataclass
class Job:
    """One claimed delivery, ready to render and send."""

    delivery_id: int
    space_id: int
    kind: str
    local_date: date
    content_id: str
    address: Address
    attempts: int = 0
    recipient: int = 0  # 0: the space's own chat; else a partner's private chat
    variant: str | None = None
    parts_sent: int = 0  # a split message's parts that arrived before a retry: never sent again
    due_at: datetime | None = None  # for the lateness metric


@dataclass(frozen=True)
class Partner:
    """What the claim needs to know of a partner: where their private chat is, and their side."""

    id: int
    space_id: int
    private_chat: str | None
    side: str | None
    side_cycle: int


@dataclass(frozen=True)
class Target:
    """One message a due schedule sends: to whom, which kind, and how a check-in looks there."""

    recipient: int
    address: Address
    kind: str
    variant: str | None = None


@dataclass
class DispatchReport:
    """What one dispatch came to, counted by outcome."""

    sent: int = 0
    missed: int = 0
    retrying: int = 0
    failed: int = 0
    deactivated: int = 0
    moved: int = 0
    lateness: list[float] = field(default_factory=list)  # seconds after due, of each sent
