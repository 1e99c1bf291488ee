"""The two ports the core talks through: a Messenger that sends (and removes), a Clock that tells the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.messages import Address, Outgoing, SendResult


class Messenger(Protocol):
    async def send(self, msg: Outgoing) -> SendResult: ...

    async def is_member(self, chat: Address, user_id: str) -> bool:
        """Whether this person is in this chat now (Telegram's getChatMember).

        False when it cannot be confirmed; a platform without such a check answers True.
        """
        ...

    async def delete(self, to: Address, message_ref: str) -> bool:
        """Removes one message from this chat (Telegram's deleteMessage); False when the platform
        would not (already gone, too old, not Tandem's to remove). Never raises."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class MovableClock:
    """The system's time, moved on by hand: the console's /tomorrow lives a day in a moment."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead

    def move_to(self, instant: datetime) -> None:
        """Never back: a day already lived stays lived."""
        self.ahead = max(self.ahead, instant - datetime.now(UTC))
