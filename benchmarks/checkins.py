"""Check-ins at scale: `couples` couples (a group, and both private chats) whose step and
check-in are due in the same minute, dispatched through the real core on SQLite; each private
check-in carries the day's question, chosen for each couple as it goes out.

The baseline, in the same run, chooses the question a couple at a time (as Tandem did before:
a handful of queries for each couple, rather than for each batch)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DUE = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)


class Clock:
    def __init__(self, value: datetime) -> None:
        self.value = value

    def now(self) -> datetime:
        return self.value


class Counting:
    def __init__(self) -> None:
        self.count = 0

    async def send(self, msg: Any) -> Any:
        from bot.messages import SendResult

        self.count += 1
        return SendResult.delivered(str(self.count))

    async def is_member(self, chat: Any, user_id: str) -> bool:
        return True

    async def delete(self, to: Any, message_ref: str) -> bool:
        return True


async def burst(couples: int, one_at_a_time: bool) -> dict[str, float]:
    """Messages handed over a second for `couples` couples due at once."""
    from sqlalchemy import insert

    import bot.questions.compose as compose
    from bot.content import default_content_dir, load_content
    from bot.migrate import upgrade
    from bot.questions.today import todays
    from bot.service import Tandem
    from bot.store import Member, Schedule, Space, Store, make_engine

    async def a_couple_at_a_time(session: Any, spaces: set[int], day: Any, now: Any) -> Any:
        return {space: await todays(session, space, day, now) for space in spaces}

    batched = compose.todays_for
    if one_at_a_time:
        compose.todays_for = a_couple_at_a_time  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(make_engine(f"sqlite:///{Path(tmp) / 'checkins.db'}"))
            await upgrade(store.engine)
            async with store.unit() as session:
                conn = await session.connection()
                await conn.execute(
                    insert(Space),
                    [
                        {
                            "id": n + 1,
                            "platform": "bench",
                            "chat_id": f"group-{n}",
                            "timezone": "UTC",
                            "topics": "gratitude,active_listening,quality_time",
                            "active": True,
                            "content_cycle": 0,
                            "created_at": DUE - timedelta(days=1),
                            "direct": False,
                            "reveal": "together",
                            "question_id": "checkin-01",
                            "apart": False,
                        }
                        for n in range(couples)
                    ],
                )
                await conn.execute(
                    insert(Member),
                    [
                        {
                            "space_id": n // 2 + 1,
                            "user_id": f"u{n}",
                            "display_name": "Sam",
                            "joined_at": DUE - timedelta(days=1),
                            "partner": True,
                            "private_chat": f"dm-{n}",
                        }
                        for n in range(2 * couples)
                    ],
                )
                await conn.execute(
                    insert(Schedule),
                    [
                        {
                            "space_id": n + 1,
                            "kind": kind,
                            "local_time": "20:00",
                            "weekdays": "mon,tue,wed,thu,fri,sat,sun",
                            "next_due_at": DUE,
                        }
                        for n in range(couples)
                        for kind in ("prompt", "checkin")
                    ],
                )
            messenger = Counting()
            library = load_content(default_content_dir())
            core = Tandem(store, Clock(DUE + timedelta(seconds=5)), library, messenger)  # type: ignore[arg-type]
            started = time.perf_counter()
            report = await core.dispatch_due()
            took = time.perf_counter() - started
            await store.close()
    finally:
        compose.todays_for = batched
    assert report.sent == messenger.count == 3 * couples, (report, messenger.count)
    return {"messages": report.sent, "seconds": took, "per_s": report.sent / took}


def run(couples: int) -> tuple[dict[str, float], dict[str, float]]:
    return asyncio.run(burst(couples, False)), asyncio.run(burst(couples, True))
