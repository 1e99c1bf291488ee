"""Flood protection: more than 10 commands, taps or plain words a minute from one person in one
chat earns one friendly "slow down", then a minute of silence; counted on the injected clock."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.messages import Address, Incoming

SLOW_DOWN = (
    "🐢 That's a lot at once. I'll take a one-minute breather and ignore what comes in until "
    "then; after that, go ahead (for example /schedule)."
)


class Verdict(StrEnum):
    ANSWER = "answer"
    SLOW_DOWN = "slow_down"  # the one reply of a quiet minute
    IGNORE = "ignore"


Key = tuple[str, str, str]  # (platform, chat id, user id)


@dataclass
class _Person:
    answered: deque[datetime]
    quiet_until: datetime | None = None


class FloodGate:
    """At most `limit` answered events in any `period` per (chat, person); the next one gets
    SLOW_DOWN and starts a quiet period in which everything is ignored (and not counted).

    So at most `limit` + 1 replies go out in any window of `period`, whatever the timing.
    """

    def __init__(self, limit: int = 10, period: timedelta = timedelta(minutes=1)) -> None:
        self.limit = limit
        self.period = period
        self._people: dict[Key, _Person] = {}

    @staticmethod
    def counts(incoming: Incoming) -> bool:
        """Commands, taps and plain words addressed to Tandem (in a private chat, a reply to it,
        a mention) count; chat events and a group's own chatter, which Tandem doesn't read, do
        not. Words of danger are never held back: the router asks before it counts."""
        if incoming.event is not None:
            return False
        if incoming.action or incoming.text.startswith("/"):
            return True
        return incoming.spoken_to and bool(incoming.text.strip())

    def check(self, to: Address, user_id: str, now: datetime) -> Verdict:
        key = (to.platform, to.chat_id, user_id)
        person = self._people.get(key)
        if person is None:
            if len(self._people) > 4096:
                self._forget_idle(now)
            person = self._people[key] = _Person(deque())
        if person.quiet_until is not None:
            if now < person.quiet_until:
                return Verdict.IGNORE
            person.quiet_until = None
        while person.answered and now - person.answered[0] >= self.period:
            person.answered.popleft()
        if len(person.answered) >= self.limit:
            person.quiet_until = now + self.period
            return Verdict.SLOW_DOWN
        person.answered.append(now)
        return Verdict.ANSWER

    def _forget_idle(self, now: datetime) -> None:
        for key in [
            k
            for k, p in self._people.items()
            if (p.quiet_until is None or p.quiet_until <= now)
            and (not p.answered or now - p.answered[-1] >= self.period)
        ]:
            del self._people[key]
