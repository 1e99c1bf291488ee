"""The two ports the core talks through: a Messenger that sends, a Clock that tells the time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from bot.messages import Outgoing, SendResult


class Messenger(Protocol):
    async def send(self, msg: Outgoing) -> SendResult: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
