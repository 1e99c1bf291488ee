"""`make bench`: 100,000 chats due in the same minute, against one APScheduler job per chat.

Each side runs in a fresh subprocess so resident memory is its own. Figures are reported as
ratios against the baseline measured in the same run, never as absolute pass/fail times.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

SPACES = int(os.environ.get("BENCH_SPACES", "100000"))
ZONES = [("UTC", "20:00"), ("Europe/Berlin", "21:00"), ("Asia/Kolkata", "01:30")]
DUE = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)  # 20:00 UTC = 21:00 Berlin = 01:30 Kolkata (+1 day)


def rss_mib() -> float:
    return psutil.Process().memory_info().rss / 2**20


class Clock:
    def __init__(self, now: datetime) -> None:
        self.value = now

    def now(self) -> datetime:
        return self.value


class CountingMessenger:
    platform = "bench"

    def __init__(self) -> None:
        self.count = 0

    async def send(self, msg):  # type: ignore[no-untyped-def]
        from bot.messages import SendResult

        self.count += 1
        return SendResult.delivered(str(self.count))

    async def start(self, tandem):  # type: ignore[no-untyped-def]
        return None

    async def stop(self) -> None:
        return None


async def seed(url: str) -> None:
    """Writes the chats straight into the database (not timed: this is the bot's data at rest)."""
    from sqlalchemy import insert

    from bot.migrate import upgrade
    from bot.service import DEFAULT_TOPICS
    from bot.store import Schedule, Space, make_engine

    engine = make_engine(url)
    await upgrade(engine)
    async with engine.begin() as conn:
        spaces = [
            {
                "id": i + 1,
                "platform": "bench",
                "chat_id": str(i),
                "timezone": ZONES[i % 3][0],
                "topics": DEFAULT_TOPICS,
                "active": True,
                "content_cycle": 0,
                "created_at": DUE - timedelta(days=1),
            }
            for i in range(SPACES)
        ]
        await conn.execute(insert(Space), spaces)
        schedules = [
            {
                "space_id": i + 1,
                "kind": "prompt",
                "local_time": ZONES[i % 3][1],
                "weekdays": "mon,tue,wed,thu,fri,sat,sun",
                "next_due_at": DUE,
            }
            for i in range(SPACES)
        ]
        await conn.execute(insert(Schedule), schedules)
    await engine.dispose()


async def ours(url: str) -> dict[str, float]:
    from bot.app import App
    from bot.settings import Settings

    before = rss_mib()
    clock = Clock(DUE - timedelta(seconds=30))
    messenger = CountingMessenger()
    started = time.perf_counter()
    app = App(Settings(database_url=url), [messenger], clock=clock)  # type: ignore[list-item]
    tandem = await app.start()
    start_s = time.perf_counter() - started
    start_rss = rss_mib() - before
    clock.value = DUE + timedelta(seconds=5)
    if app.scheduler is not None:
        app.scheduler.pause()  # measure one dispatch pass by itself
    started = time.perf_counter()
    report = await tandem.dispatch_due()
    dispatch_s = time.perf_counter() - started
    peak_rss = rss_mib() - before
    await app.stop()
    assert messenger.count == SPACES == report.sent, (messenger.count, report)
    return {
        "start_s": start_s,
        "start_rss_mib": start_rss,
        "dispatch_s": dispatch_s,
        "peak_rss_mib": peak_rss,
        "per_s": SPACES / dispatch_s,
    }


async def baseline() -> dict[str, float]:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.cron import CronTrigger

    import bot.app  # noqa: F401  (the same imports as ours, so only the jobs are counted)

    before = rss_mib()
    scheduler = AsyncIOScheduler()
    scheduler.start(paused=True)

    async def job(chat: int) -> None:
        return None

    started = time.perf_counter()
    for i in range(SPACES):
        zone, local = ZONES[i % 3]
        hour, minute = local.split(":")
        scheduler.add_job(
            job, CronTrigger(hour=hour, minute=minute, timezone=zone), args=[i], id=str(i)
        )
    add_s = time.perf_counter() - started
    rss = rss_mib() - before
    scheduler.shutdown(wait=False)
    return {"add_s": add_s, "rss_mib": rss}


def child(kind: str, url: str) -> None:
    if kind == "seed":
        asyncio.run(seed(url))
        return
    import bot.app  # noqa: F401  (imports before the first RSS reading, on both sides)

    result = asyncio.run(ours(url) if kind == "ours" else baseline())
    print(json.dumps(result))


def run_child(kind: str, url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", kind, url],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        print(f"Seeding {SPACES:,} chats, all due at {DUE:%H:%M} UTC (SQLite, WAL)...")
        run_child("seed", url)
        mine = run_child("ours", url)
        base = run_child("baseline", url)
    print()
    print(f"{'':38}{'Tandem':>12}{'1 job/chat':>14}{'ratio':>10}")
    print(
        f"{'start (load and schedule), s':38}{mine['start_s']:>12.3f}{base['add_s']:>14.3f}"
        f"{base['add_s'] / mine['start_s']:>9.0f}x"
    )
    print(
        f"{'memory after start, MiB (RSS delta)':38}{mine['start_rss_mib']:>12.1f}{base['rss_mib']:>14.1f}"
        f"{base['rss_mib'] / max(mine['start_rss_mib'], 0.1):>9.0f}x"
    )
    print(f"{'memory at peak of delivery, MiB':38}{mine['peak_rss_mib']:>12.1f}")
    print(
        f"{'prompts claimed+rendered+recorded+sent/s':38}{mine['per_s']:>12,.0f}"
        f"{'':>14}{mine['per_s'] / 30:>9.0f}x Telegram's 30/s"
    )
    print(f"({SPACES:,} prompts delivered in {mine['dispatch_s']:.1f} s)")
    targets = [
        ("start < 2 s", mine["start_s"] < 2),
        ("memory >= 10x less", base["rss_mib"] >= 10 * mine["start_rss_mib"]),
        ("throughput >= 2,000/s", mine["per_s"] >= 2000),
    ]
    print("targets: " + ", ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets))


if __name__ == "__main__":
    if len(sys.argv) == 3:
        child(sys.argv[1], sys.argv[2])
    else:
        main()
