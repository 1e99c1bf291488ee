"""`make bench`: 100,000 chats due in the same minute, against one APScheduler job per chat;
then 10,000 weekly look backs due at once, each with its chart, against drawing on the loop.

Each side runs in a fresh subprocess so resident memory is its own. Figures are reported as
ratios against the baseline measured in the same run, never as absolute pass/fail times.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil

SPACES = int(os.environ.get("BENCH_SPACES", "100000"))
LOOKBACKS = int(os.environ.get("BENCH_LOOKBACKS", "10000"))
# Drawing on the event loop is slow enough that a sample gives its rate and its latency.
INLINE_SAMPLE = int(os.environ.get("BENCH_INLINE_SAMPLE", "300"))
SUNDAY = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)  # every look back is due at this instant
PROBE_EVERY = 0.02  # a command every 20 ms while the look backs render
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
        from bot.messages import SendResult

        self.count = 0
        self.delivered = SendResult.delivered  # not imported at every send

    charts = 0

    async def send(self, msg):  # type: ignore[no-untyped-def]
        self.count += 1
        if msg.attachment is not None:
            self.charts += 1
        return self.delivered(str(self.count))

    async def start(self, tandem):  # type: ignore[no-untyped-def]
        return None

    async def stop(self) -> None:
        return None


async def seed(url: str, couples: bool = False, on_path: bool = False) -> None:
    """Writes the chats straight into the database (not timed: this is the bot's data at rest).
    `couples`: each chat has two partners who checked in on each of the last PATH_DAYS days;
    `on_path`: and they are on week 1 of a guided path, begun PATH_DAYS days ago."""
    from sqlalchemy import insert

    from bot.migrate import upgrade
    from bot.service import DEFAULT_TOPICS
    from bot.store import CheckinAnswer, Member, PathState, Schedule, Space, make_engine

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
        if couples or on_path:
            await conn.execute(insert(Member), [*_partners(SPACES)])
            await conn.execute(insert(CheckinAnswer), [*_took_part(SPACES)])
        if on_path:
            await conn.execute(insert(PathState), [*_on_path(SPACES)])
    await engine.dispose()


PATH_DAYS = 3  # days of the week gone by on a path, each checked in by both


def _partners(count: int) -> Iterator[dict[str, object]]:
    for i in range(count):
        for n, name in enumerate(("A", "B")):
            yield {
                "id": 2 * i + n + 1,
                "space_id": i + 1,
                "user_id": f"{name}{i}",
                "display_name": name,
                "joined_at": DUE - timedelta(days=PATH_DAYS + 1),
                "partner": True,
            }


def _on_path(count: int) -> Iterator[dict[str, object]]:
    for i in range(count):
        yield {
            "space_id": i + 1,
            "path": "breach",
            "week": 1,
            "week_started": _local_day(i) - timedelta(days=PATH_DAYS),
            "pace": "normal",
            "chosen_at": DUE - timedelta(days=PATH_DAYS + 1),
        }


def _took_part(count: int) -> Iterator[dict[str, object]]:
    for i in range(count):
        for day in range(1, PATH_DAYS + 1):
            for member in (2 * i + 1, 2 * i + 2):
                yield {
                    "space_id": i + 1,
                    "member_id": member,
                    "local_date": _local_day(i) - timedelta(days=day),
                    "took_part": True,
                    "answered_at": DUE - timedelta(days=day),
                    "updated_at": DUE - timedelta(days=day),
                }


def _local_day(i: int) -> date:
    """The local date the space's prompt is due on (Kolkata's 01:30 is the next day)."""
    return DUE.astimezone(ZoneInfo(ZONES[i % 3][0])).date()


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


async def seed_weekly(url: str, count: int) -> None:
    """`count` couples, each with 8 weeks of revealed check-ins (every other day), their look
    back due at the same instant."""
    from sqlalchemy import insert

    from bot.crypto import Place, Placed
    from bot.datakey import open_store
    from bot.sealing import member_key
    from bot.service import DEFAULT_TOPICS
    from bot.settings import Settings
    from bot.store import CheckinAnswer, Member, Once, Schedule, Space, make_engine

    # The key the bot will open it with (made here, in the bench's own config folder).
    store = await open_store(make_engine(url), Settings(database_url=url))
    engine = store.engine
    at = SUNDAY - timedelta(days=60)
    today = SUNDAY.date()
    async with engine.begin() as conn:
        await conn.execute(
            insert(Space),
            [
                {
                    "id": i + 1,
                    "platform": "bench",
                    "chat_id": str(i),
                    "timezone": "UTC",
                    "topics": DEFAULT_TOPICS,
                    "active": True,
                    "content_cycle": 0,
                    "created_at": at,
                }
                for i in range(count)
            ],
        )
        await conn.execute(
            insert(Member),
            [
                {
                    "id": 2 * i + k + 1,
                    "space_id": i + 1,
                    "user_id": f"u{k}",
                    "display_name": ("Alex", "Sam")[k],
                    "joined_at": at,
                    "partner": True,
                    "side_cycle": 0,
                }
                for i in range(count)
                for k in (0, 1)
            ],
        )
        await conn.execute(
            insert(Schedule),
            [
                {
                    "space_id": i + 1,
                    "kind": "weekly",
                    "local_time": "19:00",
                    "weekdays": "sun",
                    "next_due_at": SUNDAY,
                }
                for i in range(count)
            ],
        )
        days = [today - timedelta(days=d) for d in range(0, 56, 2)]
        row = 0
        for start in range(0, count, 500):
            chunk = range(start, min(start + 500, count))
            answers = []
            for i in chunk:
                for k in (0, 1):
                    member = 2 * i + k + 1
                    key = await conn.run_sync(member_key, store.keyring, i + 1, member)
                    for day in days:
                        row += 1
                        score = str(1 + (i + k * 3 + day.toordinal()) % 5)
                        place = Place("checkinanswer", "tap", row, i + 1, member)
                        answers.append(
                            {
                                "id": row,
                                "space_id": i + 1,
                                "member_id": member,
                                "local_date": day,
                                "tap": Placed(score, place, key),  # sealed, as the bot does
                                "took_part": True,
                                "share_note": False,
                                "answered_at": at,
                                "updated_at": at,
                            }
                        )
            await conn.execute(insert(CheckinAnswer), answers)
            await conn.execute(
                insert(Once),
                [
                    {"space_id": i + 1, "key": f"reveal:{day.isoformat()}", "at": at}
                    for i in chunk
                    for day in days
                ],
            )
    await engine.dispose()


def family_rss_mib() -> float:
    """This process and its chart workers."""
    me = psutil.Process()
    total = me.memory_info().rss
    for worker in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += worker.memory_info().rss
    return total / 2**20


class InlineCharts:
    """The baseline: each chart drawn right on the event loop, as a naive bot would."""

    async def render(self, data):  # type: ignore[no-untyped-def]
        from bot.chart import draw

        return draw(data)

    def close(self) -> None:
        return None


async def look_backs(url: str, mode: str) -> dict[str, float]:
    """Dispatches every look back due at once while a command is answered every 20 ms."""
    from bot.app import App
    from bot.chart import ChartData, Series
    from bot.messages import Address, Incoming
    from bot.settings import Settings

    clock = Clock(SUNDAY - timedelta(minutes=1))
    messenger = CountingMessenger()
    app = App(Settings(database_url=url), [messenger], clock=clock)  # type: ignore[list-item]
    tandem = await app.start()
    if app.scheduler is not None:
        app.scheduler.pause()
    if mode == "inline":
        tandem.charts.close()
        tandem.charts = InlineCharts()  # type: ignore[assignment]
    probe = Address("bench", "probe")
    await tandem.handle(Incoming(probe, "p1", "Pat", "/start"))
    sample = ChartData((SUNDAY.date(),), (Series("warm", (3,)),))
    await tandem.charts.render(sample)  # the workers start before the clock does

    loop = asyncio.get_running_loop()

    async def command(due: float) -> float:
        """One command meant to arrive at `due`: its latency counts any wait for the loop too,
        so a chart drawn on the loop is not hidden in the pause between commands."""
        await asyncio.sleep(max(0.0, due - loop.time()))
        await tandem.handle(Incoming(probe, "p1", "Pat", "/schedule"))
        return loop.time() - due

    idle = []
    due = loop.time()
    for _ in range(100):
        due += PROBE_EVERY
        idle.append(await command(due))
    before = family_rss_mib()
    peak = before
    clock.value = SUNDAY + timedelta(seconds=5)
    started = time.perf_counter()
    dispatch = asyncio.create_task(tandem.dispatch_due())
    busy = []
    due = loop.time()
    while not dispatch.done():
        due = max(due + PROBE_EVERY, loop.time() - 1.0)
        busy.append(await command(due))
        peak = max(peak, family_rss_mib())
    report = await dispatch
    took = time.perf_counter() - started
    await app.stop()
    assert report.sent == messenger.count, (report, messenger.count)

    def p99(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000

    return {
        "charts": messenger.charts,
        "seconds": took,
        "per_s": messenger.charts / took,
        "idle_p99_ms": p99(idle),
        "busy_p99_ms": p99(busy) if busy else 0.0,
        "probes": len(busy),
        "peak_mib": peak - before,
    }


def child(kind: str, url: str) -> None:
    if kind in ("seed", "seed-couples", "seed-paths"):
        asyncio.run(seed(url, couples=kind == "seed-couples", on_path=kind == "seed-paths"))
        return
    if kind.startswith("seed-million:"):
        seed_million(url, int(kind.split(":")[1]))
        return
    if kind == "pg-instance":
        asyncio.run(pg_instance(url))
        return
    if kind == "floor":
        print(json.dumps(sql_floor(url)))
        return
    if kind in ("million", "burst"):
        print(json.dumps(asyncio.run(million(url) if kind == "million" else burst(url))))
        return
    if kind.startswith("seed-weekly:"):
        asyncio.run(seed_weekly(url, int(kind.split(":")[1])))
        return
    import bot.app  # noqa: F401  (imports before the first RSS reading, on both sides)

    if kind.startswith("weekly-"):
        result = asyncio.run(look_backs(url, kind.removeprefix("weekly-")))
    else:
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
    # Key files the runs make (one per database, in the user's config folder by default) go to
    # a folder of the bench's own, inherited by its child processes.
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="tandem-bench-config-")
    if wanted("delivery"):
        delivery()
    if wanted("paths"):
        on_paths()
    if wanted("weekly"):
        weekly()
    if wanted("flood"):
        telegram_flood()
    if wanted("crisis"):
        crisis_words()
    if wanted("messages"):
        messages_per_day()
    if wanted("checkins"):
        checkins_at_once()
    scale()


def crisis_words() -> None:
    """How long reading a 1,000-character note for words of danger takes, against reading it at
    all (casefold and split into words, the least any look at the words costs)."""
    from bot.content import default_content_dir, load_content

    safety = load_content(default_content_dir()).safety
    sections: dict[str, list[str]] = {}
    section = ""
    corpus = Path(__file__).resolve().parent.parent / "tests" / "crisis_corpus.txt"
    for line in corpus.read_text().splitlines():
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif line.strip() and not line.startswith("#") and not section.startswith("dev"):
            sections.setdefault("ordinary" if section == "ordinary" else "crisis", []).append(line)
    notes = {kind: " ".join(lines)[:1000] for kind, lines in sections.items()}
    for repeated in ("he has been ", "i am, ", "my partner "):  # phrases start at every word
        notes[f"{repeated.strip()!r} x 200"] = (repeated * 200)[:1000]

    def each(check: Callable[[str], object], note: str, runs: int = 300) -> float:
        check(note)
        start = time.perf_counter()
        for _ in range(runs):
            check(note)
        return (time.perf_counter() - start) / runs

    print("\nA 1,000-character note read for words of danger (per note)...")
    print(f"{'note':38}{'Tandem, µs':>12}{'split, µs':>14}{'ratio':>10}")
    for kind, note in notes.items():
        ours = each(safety.needs, note)
        floor = each(lambda text: text.casefold().split(), note)
        print(f"{kind:38}{ours * 1e6:>12.0f}{floor * 1e6:>14.1f}{ours / floor:>9.0f}x")


EVENING = 100_000  # couples due in the same evening minute
RATES = (("30/s", 30), ("paid, 1,000/s", 1000))


def messages_per_day() -> None:
    """Messages per couple-day, counted by living a Monday through the real core for each way a
    couple can be set up; then how long 100,000 such couples due in one evening minute take to
    reach at Telegram's 30 a second (and 1,000 with paid broadcasts), now and in the old layout
    (the step, the check-in and today's question each a message, and a group line), whose count
    is worked out from what was sent rather than run."""
    from benchmarks.messages import LAYOUTS, couple_day

    print(
        "\nMessages per couple-day, step and check-in both at 21:00 (a day lived through the core)..."
    )
    days = {layout: asyncio.run(couple_day(layout)) for layout in LAYOUTS}
    print(f"{'scheduled messages per couple-day':38}{'now':>8}{'old':>8}{'ratio':>8}{'reveals':>9}")
    for layout, got in days.items():
        print(
            f"{layout:38}{got['scheduled']:>8.0f}{got['old']:>8.0f}"
            f"{got['old'] / got['scheduled']:>7.1f}x{got['reveals']:>9.0f}"
        )
    print(f"\n{EVENING:,} couples due in the same evening minute: the burst takes (h:mm:ss)")
    print(f"{'':38}{'now, 30/s':>12}{'old, 30/s':>12}{'ratio':>8}{'now, paid':>12}")
    for layout, got in days.items():
        now_s, old_s = EVENING * got["scheduled"] / 30, EVENING * got["old"] / 30
        paid_s = EVENING * got["scheduled"] / 1000
        print(
            f"{layout:38}{clock_time(now_s):>12}{clock_time(old_s):>12}{old_s / now_s:>7.1f}x"
            f"{clock_time(paid_s):>12}"
        )
    print(
        "(counted: messages x couples / rate; Telegram's rate is the bound, Tandem hands over "
        "thousands a second. The old layout is worked out from the parts each message holds. "
        "Reveals come as partners answer, not in the burst.)"
    )


CHECKIN_COUPLES = int(os.environ.get("BENCH_CHECKIN_COUPLES", "5000"))


def checkins_at_once() -> None:
    """Couples whose step and check-in are due in the same minute: the check-ins carry the
    day's question, chosen per batch, against choosing it a couple at a time (same run)."""
    from benchmarks.checkins import run

    print(f"\n{CHECKIN_COUPLES:,} couples (a group, both private chats) due in one minute...")
    ours, base = run(CHECKIN_COUPLES)
    print(f"{'':38}{'per batch':>12}{'per couple':>12}{'ratio':>8}")
    print(
        f"{'messages handed over per second':38}{ours['per_s']:>12,.0f}{base['per_s']:>12,.0f}"
        f"{ours['per_s'] / base['per_s']:>7.1f}x"
    )
    print(
        f"({ours['messages']:,.0f} messages: the step in each group, a check-in with today's "
        f"question in each private chat; {ours['seconds']:.1f} s against {base['seconds']:.1f} s)"
    )


def clock_time(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def weekly() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ours_url = f"sqlite:///{Path(tmp) / 'weekly.db'}"
        inline_url = f"sqlite:///{Path(tmp) / 'inline.db'}"
        print(f"\nSeeding {LOOKBACKS:,} couples with 8 weeks of check-ins, all due Sunday 19:00...")
        run_child(f"seed-weekly:{LOOKBACKS}", ours_url)
        run_child(f"seed-weekly:{INLINE_SAMPLE}", inline_url)
        mine = run_child("weekly-pool", ours_url)
        base = run_child("weekly-inline", inline_url)
    print()
    print(f"{'weekly look backs with a chart':38}{'Tandem':>12}{'on the loop':>14}{'ratio':>10}")
    print(
        f"{'charts drawn and sent per second':38}{mine['per_s']:>12.1f}{base['per_s']:>14.1f}"
        f"{mine['per_s'] / base['per_s']:>9.1f}x"
    )
    print(
        f"{'p99 command reply while drawing, ms':38}{mine['busy_p99_ms']:>12.1f}"
        f"{base['busy_p99_ms']:>14.1f}{base['busy_p99_ms'] / max(mine['busy_p99_ms'], 0.1):>9.1f}x"
    )
    print(
        f"{'p99 command reply when idle, ms':38}{mine['idle_p99_ms']:>12.1f}"
        f"{base['idle_p99_ms']:>14.1f}"
        f"{mine['busy_p99_ms'] / max(mine['idle_p99_ms'], 0.1):>9.1f}x idle (Tandem)"
    )
    print(
        f"{'peak memory while drawing, MiB':38}{mine['peak_mib']:>12.1f}{base['peak_mib']:>14.1f}"
        "   (Tandem counts its chart workers)"
    )
    print(
        f"({mine['charts']:,.0f} look backs in {mine['seconds']:.1f} s with "
        f"{mine['probes']:,.0f} commands answered meanwhile; baseline on "
        f"{base['charts']:,.0f} look backs)"
    )
    targets = [
        ("a chart < 100 ms (per worker)", 2 / mine["per_s"] < 0.1),
        ("p99 reply better than drawing on the loop", mine["busy_p99_ms"] < base["busy_p99_ms"]),
    ]
    print("targets: " + ", ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets))


def delivery() -> None:
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


def on_paths() -> None:
    """The delivery rate when every couple walks a guided path (each step settles the path's
    week, which counts the days both took part), against the same couples (two partners, the
    same check-ins) on Free practice."""
    rates: dict[str, dict[str, float]] = {}
    for kind in ("seed-couples", "seed-paths"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            run_child(kind, url)
            rates[kind] = run_child("ours", url)
    free, walking = rates["seed-couples"]["per_s"], rates["seed-paths"]["per_s"]
    print(f"\n{SPACES:,} couples due at once, all on a guided path against all on Free practice...")
    print(f"{'':38}{'on a path':>12}{'free':>14}{'ratio':>10}")
    print(f"{'prompts delivered/s':38}{walking:>12,.0f}{free:>14,.0f}{walking / free:>9.2f}x")
    print(
        f"{'memory at peak of delivery, MiB':38}{rates['seed-paths']['peak_rss_mib']:>12.1f}"
        f"{rates['seed-couples']['peak_rss_mib']:>14.1f}"
    )


# ---- Figures for several instances (issue 9) ----------------------------------------------------

MILLION = int(os.environ.get("BENCH_MILLION", "1000000"))
MILLION_SECONDS = float(os.environ.get("BENCH_MILLION_SECONDS", "20"))  # the rate's window
PG_SPACES = int(os.environ.get("BENCH_PG_SPACES", "20000"))
PG_INSTANCES = (1, 2, 4)
QUEUED = int(os.environ.get("BENCH_QUEUED", "10000"))
BURST_SECONDS = float(os.environ.get("BENCH_BURST_SECONDS", "15"))
PROBE_GAP = 0.25  # a command every 250 ms
PG_ADMIN = os.environ.get("TANDEM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
TARGET_START_S, TARGET_RSS_MIB, TARGET_RATE, TARGET_P99_S = 3.0, 200.0, 20_000, 1.0


def wanted(name: str) -> bool:
    """BENCH_ONLY=delivery,weekly,... picks parts for a quick run; unset runs every part."""
    only = os.environ.get("BENCH_ONLY")
    return not only or name in only.split(",")


def seed_million(url: str, count: int) -> None:
    """`count` spaces due at once, written with sqlite3 directly: 2 million ORM rows would take
    longer than the whole benchmark (not timed: this is the bot's data at rest)."""
    from bot.migrate import upgrade
    from bot.service import DEFAULT_TOPICS
    from bot.store import make_engine

    async def migrate() -> None:
        engine = make_engine(url)
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    created = (DUE - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    due = DUE.strftime("%Y-%m-%d %H:%M:%S.%f")
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    with db:
        db.executemany(
            "INSERT INTO space (id, platform, chat_id, timezone, topics, active, content_cycle,"
            " created_at, direct, reveal, question_id, apart)"
            " VALUES (?, 'bench', ?, ?, ?, 1, 0, ?, 0, 'together', 'checkin-01', 0)",
            ((i + 1, str(i), ZONES[i % 3][0], DEFAULT_TOPICS, created) for i in range(count)),
        )
        db.executemany(
            "INSERT INTO schedule (space_id, kind, local_time, weekdays, next_due_at)"
            " VALUES (?, 'prompt', ?, 'mon,tue,wed,thu,fri,sat,sun', ?)",
            ((i + 1, ZONES[i % 3][1], due) for i in range(count)),
        )
    # A database at rest has the planner's statistics: the daily housekeeping refreshes them.
    db.execute("ANALYZE")
    db.close()


async def million(url: str) -> dict[str, float]:
    """Start on a million spaces, then claim+render+record+hand over for MILLION_SECONDS."""
    from sqlalchemy import func, select

    from bot.app import App
    from bot.settings import Settings
    from bot.store import Delivery

    clock = Clock(DUE - timedelta(seconds=30))
    messenger = CountingMessenger()
    started = time.perf_counter()
    app = App(Settings(database_url=url), [messenger], clock=clock)  # type: ignore[list-item]
    tandem = await app.start()
    start_s = time.perf_counter() - started
    # From the process's birth: the interpreter, the imports, the migrations check, the start.
    process_s = time.time() - psutil.Process().create_time()
    start_rss = rss_mib()
    if app.scheduler is not None:
        app.scheduler.pause()
    clock.value = DUE + timedelta(seconds=5)
    started = time.perf_counter()
    dispatch = asyncio.create_task(tandem.dispatch_due())
    peak = start_rss
    while not dispatch.done() and time.perf_counter() - started < MILLION_SECONDS:
        await asyncio.wait([dispatch], timeout=0.25)
        peak = max(peak, rss_mib())
    took = time.perf_counter() - started
    handed = messenger.count
    if not dispatch.done():
        dispatch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dispatch
    assert app.store is not None
    async with app.store.engine.connect() as conn:
        recorded = (
            await conn.execute(select(func.count()).where(Delivery.status == "sent"))  # type: ignore[arg-type]
        ).scalar_one()
    await app.stop()
    return {
        "start_s": start_s,
        "process_s": process_s,
        "start_rss_mib": start_rss,
        "peak_rss_mib": peak,
        "seconds": took,
        "handed": handed,
        "recorded": int(recorded),
        "per_s": int(recorded) / took,
    }


def sql_floor(url: str) -> dict[str, float]:
    """The same-run baseline for the rate: only the SQL a claim, its hand-over and its record
    run per prompt, through sqlite3 itself with the bot's pragmas and no logic at all (no zones,
    no rotation, no rendering, no sends). No implementation on this schema and this machine goes
    faster, so Tandem's rate is reported as a share of it. The writes are the dispatcher's own
    statements; the reads are written out as the claim builds them."""
    from sqlalchemy import insert
    from sqlalchemy.dialects import sqlite

    from bot.delivery import dispatcher, statements
    from bot.store import SQLITE_PRAGMAS, ContentHistory, Plain

    dialect = sqlite.dialect()
    claim = Plain(statements.claim_insert("sqlite"), dialect, statements.CLAIM_COLUMNS)
    shown = Plain(insert(ContentHistory), dialect, statements.HISTORY_COLUMNS)
    rotated, advanced = Plain(statements.ROTATION, dialect), Plain(statements.ADVANCE, dialect)
    recorded = Plain(statements.RECORD, dialect)
    stamp = "%Y-%m-%d %H:%M:%S.%f"
    now = (DUE + timedelta(seconds=5)).strftime(stamp)
    lease = (DUE + timedelta(seconds=95)).strftime(stamp)
    upcoming = (DUE + timedelta(days=1)).strftime(stamp)
    me = "0" * 36  # an instance id's length
    day = DUE.date().isoformat()
    db = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        db.execute(f"PRAGMA {pragma}")

    def marks(count: int) -> str:
        return ",".join("?" * count)

    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < MILLION_SECONDS:
        db.execute("BEGIN IMMEDIATE")
        rows = db.execute(
            "SELECT schedule.id, schedule.space_id, schedule.kind, schedule.local_time,"
            " schedule.weekdays, schedule.next_due_at, space.timezone, space.topics,"
            " space.last_topic, space.content_cycle, space.platform, space.chat_id, space.direct,"
            " space.question_id, space.apart FROM schedule JOIN space ON space.id ="
            " schedule.space_id AND space.active = 1 AND (space.platform || '') IN ('bench')"
            " WHERE schedule.next_due_at <= ? ORDER BY schedule.next_due_at LIMIT ?",
            (now, dispatcher.BATCH),
        ).fetchall()
        if not rows:
            break
        spaces, schedules = [r[1] for r in rows], [r[0] for r in rows]
        db.execute(
            "SELECT h.space_id, h.prompt_id FROM contenthistory h JOIN space ON space.id ="
            f" h.space_id AND space.content_cycle = h.cycle WHERE h.space_id IN ({marks(len(rows))})"
            " AND h.member_id = 0",
            spaces,
        ).fetchall()
        db.execute(
            "SELECT id, space_id, private_chat, side, side_cycle FROM member"
            f" WHERE space_id IN ({marks(len(rows))}) AND partner = 1 ORDER BY id",
            spaces,
        ).fetchall()
        db.execute(
            "SELECT schedule_id, local_date, recipient, kind FROM delivery"
            f" WHERE schedule_id IN ({marks(len(rows))}) AND local_date >= ?",
            [*schedules, (DUE - timedelta(days=2)).date().isoformat()],
        ).fetchall()
        first = db.execute("SELECT coalesce(max(id), 0) FROM delivery").fetchone()[0] + 1
        ids = list(range(first, first + len(rows)))
        db.executemany(
            claim.sql,
            [
                (i, r[1], r[0], "prompt", 0, None, day, r[5], "claimed", 0, "p", None, 0, me, lease)
                for i, r in zip(ids, rows, strict=True)
            ],
        )
        db.executemany(shown.sql, [(r[1], 0, "p", 0, now) for r in rows])
        db.executemany(rotated.sql, [("t", 0, r[1]) for r in rows])
        db.executemany(advanced.sql, [(upcoming, r[0]) for r in rows])
        db.execute("COMMIT")
        # Marked `handing` a group at a time, each transaction also writing the group before.
        groups = [
            ids[g : g + dispatcher.HAND_GROUP] for g in range(0, len(ids), dispatcher.HAND_GROUP)
        ]
        for before, group in zip([[], *groups], [*groups, []], strict=True):
            db.execute("BEGIN IMMEDIATE")
            db.executemany(recorded.sql, [("sent", 1, None, "1", now, None, 0, i) for i in before])
            if group:
                db.execute(
                    f"UPDATE delivery SET status = 'handing' WHERE id IN ({marks(len(group))})"
                    " AND status = 'claimed' AND claimed_by = ? RETURNING id",
                    [*group, me],
                ).fetchall()
            db.execute("COMMIT")
        done += len(rows)
    took = time.perf_counter() - started
    db.close()
    return {"per_s": done / took, "seconds": took}


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def pg_instance(url: str) -> None:
    """One instance of the PostgreSQL run: starts, says "ready", waits for "go" on stdin, sends
    everything it can claim, and prints which chats it sent to."""
    from bot.app import App
    from bot.settings import Settings

    clock = Clock(DUE - timedelta(seconds=30))
    chats: list[str] = []

    class Recording(CountingMessenger):
        async def send(self, msg):  # type: ignore[no-untyped-def]
            chats.append(msg.to.chat_id)
            return await super().send(msg)

    app = App(Settings(database_url=url), [Recording()], clock=clock)  # type: ignore[list-item]
    tandem = await app.start()
    if app.scheduler is not None:
        app.scheduler.pause()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    clock.value = DUE + timedelta(seconds=5)
    errors = 0
    while errors < 20:  # as the app's ticker does: a failed dispatch is tried again
        try:
            if not (await tandem.dispatch_due()).sent:
                break  # once more after the last: a lost race comes back empty-handed
        except Exception:
            errors += 1
    ended = time.time()
    await app.stop()
    print(json.dumps({"ended": ended, "chats": chats, "errors": errors}), flush=True)


def pg_run(instances: int) -> dict[str, float] | None:
    """PG_SPACES due at once on a fresh database, shared by `instances` processes."""
    import uuid

    name = f"tandem_bench_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as err:
        print(f"PostgreSQL at {PG_ADMIN} is not reachable ({type(err).__name__}): skipped")
        return None
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        global SPACES
        saved, SPACES = SPACES, PG_SPACES
        try:
            asyncio.run(seed(url))
        finally:
            SPACES = saved
        env = {**os.environ, "LOG_LEVEL": "WARNING"}
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "benchmarks.bench", "pg-instance", url],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,  # a failed dispatch is counted, not printed
                text=True,
                env=env,
            )
            for _ in range(instances)
        ]
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        go = time.time()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [
            json.loads(proc.communicate(timeout=900)[0].strip().splitlines()[-1]) for proc in procs
        ]
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    sent = [c for r in results for c in r["chats"]]
    took = max(r["ended"] for r in results) - go
    return {
        "seconds": took,
        "per_s": len(set(sent)) / took,
        "doubles": len(sent) - len(set(sent)),
        "lost": PG_SPACES - len(set(sent)),
        "shares": [len(r["chats"]) for r in results],
        "errors": sum(r["errors"] for r in results),
    }


async def burst(url: str) -> dict[str, float]:
    """QUEUED Telegram groups due at once behind Telegram's 30/s, against the fake Bot API, while
    partners type /schedule in their private chats: how long each waits for its reply."""
    from pathlib import Path as P

    from adapters.telegram_adapter import TelegramAdapter
    from bot.app import App
    from tests.fleet import PacedBotApi, migrate, seed_groups
    from tests.telegram.fake_api import User, private_chat
    from tests.telegram.harness import settings_for

    api = PacedBotApi()
    await api.start()
    await migrate(url)
    await seed_groups(url, QUEUED, due=DUE)
    clock = Clock(DUE - timedelta(seconds=30))
    adapter = TelegramAdapter(settings_for(api, P(url.removeprefix("sqlite:///"))))
    app = App(adapter.settings, [adapter], clock=clock)
    tandem = await app.start()
    if app.scheduler is not None:
        app.scheduler.pause()
    loop = asyncio.get_running_loop()
    people = (User(10_000 + k, f"P{k}") for k in itertools.count())

    async def command(person: User) -> float:
        """A partner types a command in their own private chat: seconds until the answer."""
        chat = private_chat(person)
        pushed = loop.time()
        api.say("/schedule", user=person, chat=chat)
        [reply] = await api.replies(1, chat_id=chat.id)
        return reply.at - pushed

    async def probes(seconds: float) -> list[float]:
        """A command every PROBE_GAP, each from someone new, whether or not the last is answered."""
        waiting, due = [], loop.time()
        end = due + seconds
        while due < end:
            await asyncio.sleep(max(0.0, due - loop.time()))
            waiting.append(asyncio.create_task(asyncio.wait_for(command(next(people)), 60)))
            due += PROBE_GAP
        return list(await asyncio.gather(*waiting))

    idle = await probes(min(5.0, BURST_SECONDS))
    clock.value = DUE + timedelta(seconds=5)
    dispatch = asyncio.create_task(tandem.dispatch_due())
    await api.wait_for(lambda: sum(1 for c in api.sent() if c.chat_id < 0) > 30, 30)  # queued
    began = loop.time()
    busy = await probes(BURST_SECONDS)
    groups = [c for c in api.sent() if c.chat_id < 0]
    rate = sum(1 for c in groups if c.at >= began) / (loop.time() - began)
    dispatch.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await dispatch
    await app.stop()
    await api.stop()

    def p99(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    return {
        "idle_p99_s": p99(idle),
        "busy_p99_s": p99(busy),
        "busy_max_s": max(busy),
        "probes": len(busy),
        "groups_sent": len(groups),
        "groups_per_s": rate,
    }


def scale() -> None:
    """Issue 9's figures: a million spaces on SQLite, PostgreSQL with 1, 2 and 4 instances, and
    commands answered while a broadcast is queued behind Telegram's limit."""
    if wanted("million"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'million.db'}"
            print(f"\nSeeding {MILLION:,} spaces, all due at {DUE:%H:%M} UTC (SQLite, WAL)...")
            run_child(f"seed-million:{MILLION}", url)
            bare = Path(tmp) / "floor.db"
            shutil.copyfile(Path(tmp) / "million.db", bare)
            # At rest means on disk: otherwise the start's first commit waits for the kernel to
            # write back the copies just made (most of a second here).
            os.sync()
            mine = run_child("million", url)
            floor = run_child("floor", f"sqlite:///{bare}")
        rows = [
            (f"start on {MILLION:,} spaces, s", mine["process_s"], TARGET_START_S, True),
            ("  of which App.start, s", mine["start_s"], TARGET_START_S, True),
            ("resident memory after start, MiB", mine["start_rss_mib"], TARGET_RSS_MIB, True),
            ("resident memory at peak, MiB", mine["peak_rss_mib"], TARGET_RSS_MIB, True),
            ("prompts claimed+rendered+recorded+handed/s", mine["per_s"], TARGET_RATE, False),
        ]
        print(f"\n{MILLION:,} spaces on SQLite{'':17}{'Tandem':>12}{'target':>12}{'of target':>12}")
        for label, value, target, lower in rows:
            ratio = target / value if lower else value / target
            mark = "met" if ratio >= 1 else "MISSED"
            print(f"{label:44}{value:>10,.1f}{target:>12,.0f}{ratio:>10.2f}x {mark}")
        print(
            f"{'  the same SQL alone (sqlite3, no logic)':44}{floor['per_s']:>10,.1f}{TARGET_RATE:>12,.0f}"
            f"{floor['per_s'] / TARGET_RATE:>10.2f}x; Tandem runs at "
            f"{mine['per_s'] / floor['per_s']:.0%} of it"
        )
        print(
            f"({mine['recorded']:,.0f} recorded and {mine['handed']:,.0f} handed over in "
            f"{mine['seconds']:.1f} s; BENCH_MILLION_SECONDS bounds the window)"
        )
    if wanted("postgres"):
        print(f"\nPostgreSQL: {PG_SPACES:,} spaces due at once, shared by 1, 2 and 4 instances...")
        runs = {n: pg_run(n) for n in PG_INSTANCES}
        one = runs.get(1)
        if one is not None:
            print(
                f"{'instances':>10}{'seconds':>10}{'prompts/s':>12}{'speed-up':>10}"
                f"{'doubles':>9}{'lost':>7}{'failed':>8}  shares"
            )
            for n, run in runs.items():
                if run is None:
                    continue
                print(
                    f"{n:>10}{run['seconds']:>10.1f}{run['per_s']:>12,.0f}"
                    f"{run['per_s'] / one['per_s']:>9.2f}x{run['doubles']:>9}{run['lost']:>7}"
                    f"{run['errors']:>8}  "
                    f"{run['shares']}"
                )
            print(f"({os.cpu_count()} cores for the instances and PostgreSQL together)")
    if wanted("burst"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'burst.db'}"
            print(
                f"\nCommands while {QUEUED:,} prompts wait behind Telegram's 30/s (fake Bot API)..."
            )
            mine = run_child("burst", url)
        print(f"{'':44}{'idle':>10}{'in burst':>10}{'ratio':>10}")
        print(
            f"{'p99 command reply, s':44}{mine['idle_p99_s']:>10.2f}{mine['busy_p99_s']:>10.2f}"
            f"{mine['busy_p99_s'] / max(mine['idle_p99_s'], 0.001):>9.1f}x"
        )
        print(
            f"({mine['probes']:.0f} commands in {BURST_SECONDS:.0f} s, slowest {mine['busy_max_s']:.2f} s; "
            f"{mine['groups_sent']:.0f} prompts went out meanwhile)"
        )
        ok = mine["busy_p99_s"] < TARGET_P99_S
        print(f"targets: p99 reply < 1 s during the burst: {'met' if ok else 'MISSED'}")


def telegram_flood() -> None:
    """600 groups due at once against a Telegram-like 30/s and 20/min per group (429s beyond),
    30 of them busy beforehand: when does each prompt arrive after it was due?"""
    from benchmarks.telegram_flood import burst

    print("\n600 Telegram groups due at once, 30 of them busy this minute (fake Bot API, 429s)...")
    got = asyncio.run(burst(600, 30))
    print(f"{'600 groups due at once':38}{'Tandem':>12}{'possible':>14}{'ratio':>10}")
    for label, key in (
        ("p50 arrival after due, s", "p50_s"),
        ("p95 arrival after due, s", "p95_s"),
    ):
        print(f"{label:38}{got[key]:>12.1f}")
    print(
        f"{'last quiet group after due, s':38}{got['last_s']:>12.1f}{got['ideal_s']:>14.1f}"
        f"{got['last_s'] / got['ideal_s']:>9.2f}x"
    )
    print(f"{'last busy group after due, s':38}{got['busy_last_s']:>12.1f}   (its own 429 wait)")
    print(f"({got['arrived']:.0f} arrived; {got['refused_429']:.0f} sends refused with 429)")


if __name__ == "__main__":
    if len(sys.argv) == 3:
        child(sys.argv[1], sys.argv[2])
    else:
        main()
