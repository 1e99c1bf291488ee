"""A burst under Telegram's flood limits: many groups due at once, against the fake Bot API
enforcing 30 sends a second and 20 a minute per group (429 with retry_after beyond them).

Measures when each group's prompt arrives after it was due, through the real app: the core's
ticker, claims and retries, the Telegram adapter and its limiter.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DUE = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
TICK = 5.0


class RunningClock:
    """The domain's clock: stands before DUE until `go`, then runs with wall time from DUE."""

    def __init__(self) -> None:
        self.started: float | None = None

    def go(self, lead: float) -> None:
        self.started = time.monotonic() + lead  # DUE comes `lead` seconds from now

    def now(self) -> datetime:
        if self.started is None:
            return DUE - timedelta(hours=1)
        return DUE + timedelta(seconds=time.monotonic() - self.started)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def burst(groups: int = 600, busy: int = 0, within: float = 180.0) -> dict[str, Any]:
    """`groups` groups due at DUE; `busy` of them already posted 20 times in the last minute
    (a chatty group: its next message must wait for Telegram's per-group window). The
    percentiles are of the other groups; `busy_last_s` is the last of the busy ones."""
    from adapters.telegram_adapter import TelegramAdapter
    from adapters.telegram_limits import Limits
    from bot.app import App
    from bot.content import default_content_dir, load_content
    from bot.messages import Address, Incoming
    from tests.telegram.fake_api import FakeBotApi, FloodRules
    from tests.telegram.harness import settings_for

    api = FakeBotApi(flood=FloodRules())
    await api.start()
    clock = RunningClock()
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(api, Path(tmp) / "flood.db", tick_seconds=TICK)
        adapter = TelegramAdapter(settings, limits=Limits(), request_timeout=10, poll_timeout=1)
        app = App(settings, [adapter], clock=clock, library=load_content(default_content_dir()))
        tandem = await app.start()
        try:
            chats = [-1_000_000_000 - n for n in range(groups)]
            for chat in chats:
                to = Address("telegram", str(chat))
                for text in ("/start", "/remind 20:00"):
                    await tandem.handle(Incoming(to, "1", "Alice", text=text))
            loop = asyncio.get_running_loop()
            assert api.flood is not None
            for chat in chats[:busy]:
                api.flood.groups[chat] = type(api.flood.arrivals)([loop.time()] * 20)
            mark = len(api.calls)
            clock.go(lead=1.0)
            due_at = loop.time() + 1.0
            arrived: dict[int, float] = {}
            deadline = due_at + within
            while len(arrived) < groups and loop.time() < deadline:
                await asyncio.sleep(0.5)
                for call in api.calls[mark:]:
                    if call.method == "sendMessage" and call.error is None:
                        arrived.setdefault(call.chat_id, call.at - due_at)
            refused = sum(1 for c in api.calls[mark:] if c.error == 429)
        finally:
            await app.stop()
            await api.stop()
    quiet = [at for chat, at in arrived.items() if chat not in chats[:busy]] or [float("nan")]
    chatty = [at for chat, at in arrived.items() if chat in chats[:busy]] or [float("nan")]
    return {
        "groups": groups,
        "busy": busy,
        "arrived": len(arrived),
        "p50_s": percentile(quiet, 0.50),
        "p95_s": percentile(quiet, 0.95),
        "last_s": max(quiet),
        "busy_last_s": max(chatty),
        "refused_429": refused,
        "ideal_s": (groups - busy) / 30 + TICK,
    }


if __name__ == "__main__":
    import json
    import sys

    args = [int(a) for a in sys.argv[1:]]
    print(json.dumps(asyncio.run(burst(*args))))
