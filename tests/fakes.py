"""Hand-written fakes for the core's ports: a clock the test moves, a messenger that keeps a transcript."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.messages import Address, Incoming, Outgoing, SendResult

ALICE = ("u1", "Alice")
BOB = ("u2", "Bob")
HOME = Address("test", "chat-1")


class FixedClock:
    """Time stands still until the test moves it."""

    def __init__(self, iso: str = "2026-11-21T12:00:00+00:00") -> None:
        self._now = datetime.fromisoformat(iso)

    def now(self) -> datetime:
        return self._now

    def set(self, iso: str) -> None:
        self._now = datetime.fromisoformat(iso)

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)

    def move_to(self, instant: datetime) -> None:
        """As the console's clock moves (bot.ports.MovableClock): never back."""
        self._now = max(self._now, instant)


@dataclass
class FakeMessenger:
    """Keeps every delivered message; `fail` queues results to return instead, per chat."""

    sent: list[Outgoing] = field(default_factory=list)
    attempts: list[Outgoing] = field(default_factory=list)
    scripted: dict[str, deque[SendResult]] = field(default_factory=dict)
    # Who is in which chat, as Telegram's getChatMember would say; None: everyone everywhere.
    members: set[tuple[str, str]] | None = None
    # Every message removed, in order (chat, message id); removing one twice fails, as it would.
    deleted: list[tuple[Address, str]] = field(default_factory=list)
    _ids: int = 0

    async def is_member(self, chat: Address, user_id: str) -> bool:
        return self.members is None or (chat.chat_id, user_id) in self.members

    async def delete(self, to: Address, message_ref: str) -> bool:
        if (to, message_ref) in self.deleted:
            return False  # already gone
        self.deleted.append((to, message_ref))
        return True

    def fail(self, chat_id: str, *results: SendResult) -> None:
        self.scripted.setdefault(chat_id, deque()).extend(results)

    async def send(self, msg: Outgoing) -> SendResult:
        self.attempts.append(msg)
        queue = self.scripted.get(msg.to.chat_id)
        if queue:
            return queue.popleft()
        self.sent.append(msg)
        self._ids += 1
        return SendResult.delivered(f"m{self._ids}")

    def take(self) -> list[Outgoing]:
        """The messages sent since the last take."""
        taken, self.sent = self.sent, []
        return taken

    def to(self, address: Address) -> list[Outgoing]:
        """The messages sent to one chat since the last take, without taking them."""
        return [m for m in self.sent if m.to == address]

    def message_id_of(self, msg: Outgoing) -> str:
        """The platform id the fake gave a sent message (for replying to it)."""
        return f"m{self.attempts.index(msg) + 1}"


def said(who: tuple[str, str], text: str = "", *, to: Address = HOME, **kwargs: object) -> Incoming:
    return Incoming(to, who[0], who[1], text, **kwargs)  # type: ignore[arg-type]
