"""Telegram's sending limits and update ordering: what the Bot API allows, and how 429s are waited out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter, BaseUpdateProcessor
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)
JSONDict = dict[str, Any]
UNBOUNDED = 1 << 30  # PTB's own semaphore, made a no-op (see PerChatOrder)
PACED = ("send", "copy", "forward")  # the methods that post a message, which the limits are for
BULK = 1  # rate_limit_args of a scheduled delivery: it waits behind replies people wait for
# With paid broadcasts (TELEGRAM_PAID_BROADCAST), Telegram lets a bot send up to 1,000 a second.
PAID_RATE = 1000


@dataclass(frozen=True)
class Limits:
    """Send limits as (messages, seconds) windows; None turns one off. Defaults are Telegram's."""

    overall: tuple[int, float] | None = (30, 1.0)  # the whole bot: about 30 a second
    per_group: tuple[int, float] | None = (20, 60.0)  # one group: 20 a minute
    per_chat: tuple[int, float] | None = (3, 3.0)  # any one chat: 1 a second, bursts of 3
    max_retries: int = 3  # 429s waited out in place before the core is told RETRY
    max_wait: float = 30.0  # a longer flood wait goes straight back to the core

    @classmethod
    def off(cls) -> Limits:
        return cls(overall=None, per_group=None, per_chat=None)

    @classmethod
    def paid(cls) -> Limits:
        """Telegram's limits with paid broadcasts on: the bot's overall rate is 1,000 a second;
        one group's 20 a minute and one chat's pace stay as they are."""
        return cls(overall=(PAID_RATE, 1.0))


class Window:
    """At most `count` requests in any `period` seconds, each counted until it is answered.

    Counting from the answer rather than the start keeps the limit true where Telegram counts it:
    requests that leave together arrive spread out, and the next batch must not overlap them.
    """

    def __init__(self, count: int, period: float) -> None:
        self.count = count
        self.period = period
        self._answered: deque[float] = deque()
        self._busy = 0
        # First come, first served within each class, so one chat's parts stay in order; a reply
        # someone is waiting for goes before the scheduled deliveries queued for the same slot.
        self._queue = asyncio.Lock()
        self._urgent = asyncio.Lock()
        self._urgent_waiting = 0
        self._freed = asyncio.Event()

    @contextlib.asynccontextmanager
    async def slot(self, urgent: bool = False) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        self._urgent_waiting += urgent
        try:
            async with self._urgent if urgent else self._queue:
                while True:
                    now = loop.time()
                    while self._answered and now - self._answered[0] >= self.period:
                        self._answered.popleft()
                    free = len(self._answered) + self._busy < self.count
                    if free and (urgent or not self._urgent_waiting):
                        break
                    expires = self._answered[0] + self.period - now if self._answered else None
                    self._freed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._freed.wait(), expires)
                self._busy += 1
        finally:
            if urgent:
                self._urgent_waiting -= 1
                self._freed.set()  # a scheduled send held back for it may go now
        try:
            yield
        finally:
            self._busy -= 1
            self._answered.append(loop.time())
            self._freed.set()

    def wake(self) -> None:
        """Lets waiters look again (after `count` changed)."""
        self._freed.set()

    def idle(self, now: float) -> bool:
        return (
            not self._busy
            and not self._queue.locked()
            and not self._urgent.locked()
            and (not self._answered or now - self._answered[-1] >= self.period)
        )


def retry_seconds(err: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)  # int now, timedelta later
        value = err.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class FloodControl(BaseRateLimiter[int]):
    """Keeps sends under Telegram's limits and waits out its 429s, without blocking for minutes.

    Unlike PTB's AIORateLimiter it also paces each private chat, never holds a send (or the core's
    delivery loop) for longer than `max_wait`, and lets requests that post nothing (callback
    answers, getMe, getChatMember) through during a flood wait, so a tapped button is still
    answered in time.

    A 429 pauses only the chat it answered. Telegram does not say which limit a 429 is for, and
    the windows here already keep the whole bot under its overall rate (its share, with several
    instances), so a 429 is that chat's own: a group that was busy before the burst. Pausing the
    whole bot for it stopped every other couple's prompt, and with a wait past `max_wait` sent
    them all back to the core's backoff (600 groups due at once, 30 of them busy: the median
    prompt came 74 s late instead of 13 s).
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._overall = Window(*limits.overall) if limits.overall else None
        self._chats: dict[str, Window] = {}
        self._groups: dict[str, Window] = {}
        self._paused: dict[str, float] = {}  # chat -> when its 429 ends (loop time)
        self.waits = 0  # 429s received, for the rate-limit metric

    def share(self, instances: int) -> None:
        """Takes 1/`instances` of the bot's overall rate (rounded down, at least one a second),
        so that instances sharing one token stay under Telegram's 30 a second together. Per-group
        and per-chat windows stay whole: a chat's messages come from the instance that claimed
        them."""
        if self._overall is None or self.limits.overall is None:
            return
        count, _ = self.limits.overall
        self._overall.count = max(1, count // max(1, instances))
        self._overall.wake()

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Awaitable[bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        chat_id = data.get("chat_id")
        if chat_id is None or not endpoint.startswith(PACED):
            # Lookups (getChatMember) are not messages: a busy group must not hold up a pairing.
            return await callback(*args, **kwargs)
        loop = asyncio.get_running_loop()
        chat, attempt = str(chat_id), 0
        urgent = rate_limit_args != BULK
        while True:
            await self._wait_out_flood(loop, chat)
            try:
                async with contextlib.AsyncExitStack() as slots:
                    for window in self._windows(chat, loop.time()):
                        await slots.enter_async_context(window.slot(urgent))
                    return await callback(*args, **kwargs)
            except RetryAfter as err:
                wait = retry_seconds(err)
                self.waits += 1
                self._pause(chat, loop.time(), wait)
                attempt += 1
                if attempt > self.limits.max_retries or wait > self.limits.max_wait:
                    raise
                log.info("Telegram asked to slow down one chat; retrying in %.1f s", wait)

    def _pause(self, chat: str, now: float, wait: float) -> None:
        if len(self._paused) > 1024:
            for key in [k for k, until in self._paused.items() if until <= now]:
                del self._paused[key]
        self._paused[chat] = max(self._paused.get(chat, 0.0), now + wait)

    async def _wait_out_flood(self, loop: asyncio.AbstractEventLoop, chat: str) -> None:
        remaining = self._paused.get(chat, 0.0) - loop.time()
        if remaining > self.limits.max_wait:
            # Every send to it during a long flood wait would earn another 429: hand it back now.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                raise RetryAfter(int(remaining) + 1)
        if remaining > 0:
            await asyncio.sleep(remaining)

    def _windows(self, chat: str, now: float) -> list[Window]:
        limits, windows = self.limits, []
        if limits.per_chat:
            windows.append(self._window(self._chats, chat, limits.per_chat, now))
        if limits.per_group and chat.startswith(("-", "@")):  # groups, supergroups, channels
            windows.append(self._window(self._groups, chat, limits.per_group, now))
        if self._overall is not None:
            windows.append(self._overall)
        return windows

    @staticmethod
    def _window(
        windows: dict[str, Window], chat: str, limit: tuple[int, float], now: float
    ) -> Window:
        if len(windows) > 1024:
            for key in [k for k, w in windows.items() if w.idle(now)]:
                del windows[key]
        window = windows.get(chat)
        if window is None:
            window = windows[chat] = Window(*limit)
        return window


class PerChatOrder(BaseUpdateProcessor):
    """Updates from different chats run side by side; those from one chat run in order.

    One group waiting out its 20-a-minute limit must not hold up every other couple's replies.
    PTB's `process_update` (final) takes its semaphore before calling `do_process_update`; with
    the chat lock taken inside, 64 queued updates of one throttled group held all 64 slots while
    they waited for their turn, and every other chat waited behind them. So PTB's semaphore is
    made unbounded here, and our own `max_concurrent_updates` slots are taken after the chat lock:
    an update waiting for its chat's turn holds no slot. (PTB creates a task per update either
    way; only the running ones are bounded.)
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(UNBOUNDED)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            async with self._slots:
                await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def chat_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    with contextlib.suppress(Exception):  # a half-formed update simply runs unordered
        chat = update.effective_chat
        return chat.id if chat is not None else None
    return None
