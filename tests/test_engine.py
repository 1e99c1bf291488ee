"""Several instances on one database, crashes and bad jobs: nothing doubled, as little lost as can be."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import func, insert, select, update
from sqlmodel import select as sm_select

from bot import delivery as engine
from bot.content import Library
from bot.delivery import CONCURRENCY, HEARTBEAT, LEASE, DispatchReport, dispatcher
from bot.messages import Address, Outgoing, SendResult, SendStatus
from bot.schedule import next_due
from bot.service import Tandem
from bot.store import Delivery, Member, Schedule, Space, Store
from tests.conftest import _postgres_database, build
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said

NOON = "2026-11-21T12:00:00+00:00"


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _postgres_database()


async def populate(
    store: Store,
    count: int,
    now: datetime,
    *,
    zones: tuple[str, ...] = ("UTC",),
    times: tuple[str, ...] = ("13:00",),
    kinds: tuple[str, ...] = ("prompt",),
    prefix: str = "c",
) -> None:
    """`count` group chats with schedules, written straight to the database (fast)."""
    sp, s = Space.__table__, Schedule.__table__  # type: ignore[attr-defined]
    async with store.unit() as session:
        conn = await session.connection()
        await conn.execute(
            insert(sp),
            [
                {
                    "platform": HOME.platform,
                    "chat_id": f"{prefix}{n}",
                    "timezone": zones[n % len(zones)],
                    "topics": "gratitude,active_listening,quality_time",
                    "active": True,
                    "content_cycle": 0,
                    "created_at": now,
                    "direct": False,
                    "reveal": "together",
                    "question_id": "checkin-01",
                    "apart": False,
                }
                for n in range(count)
            ],
        )
        spaces = (
            await conn.execute(
                select(sp.c.id, sp.c.chat_id, sp.c.timezone).where(sp.c.chat_id.startswith(prefix))
            )
        ).all()
        rows = []
        for space_id, chat_id, zone in spaces:
            n = int(chat_id[len(prefix) :])
            for k, kind in enumerate(kinds):
                at = times[(n + k) % len(times)]
                rows.append(
                    {
                        "space_id": space_id,
                        "kind": kind,
                        "local_time": at,
                        "weekdays": engine.EVERY_DAY,
                        "paused_until": None,
                        "next_due_at": next_due(at, engine.EVERY_DAY, zone, now),
                    }
                )
        await conn.execute(insert(s), rows)


async def statuses(store: Store) -> dict[str, int]:
    d = Delivery.__table__.c  # type: ignore[attr-defined]
    async with store.read() as session:
        conn = await session.connection()
        found = await conn.execute(select(d.status, func.count()).group_by(d.status))
        return {status: int(n) for status, n in found}


# ---- Two partners at the same moment ---------------------------------------------------------


@pytest.mark.postgres
async def test_partners_tapping_at_the_same_moment_both_hear_the_reveal_once(
    pg_url: str, clock: FixedClock, library: Library
) -> None:
    messenger = FakeMessenger()
    bot = await build(pg_url, clock, messenger, library)
    try:
        for _ in range(5):  # a race may go either way: several days, both orders at once
            for who in (ALICE, BOB):
                await bot.handle(said(who, "/start"))
            await bot.handle(said(ALICE, "/checkin"))
            [checkin] = messenger.take()
            first, second = await asyncio.gather(
                bot.handle(said(ALICE, action=checkin.buttons[3].action)),
                bot.handle(said(BOB, action=checkin.buttons[4].action)),
            )
            reveals = [m for m in first + second if "both checked in" in m.text]
            assert len(reveals) == 1, [m.text for m in first + second]
            clock.advance(days=1)
    finally:
        await bot.store.close()


# ---- Two first messages at once --------------------------------------------------------------


async def test_two_first_messages_at_once_make_one_space_and_one_member_each(
    database_url: str, clock: FixedClock, library: Library
) -> None:
    messenger = FakeMessenger()
    bots = [await build(database_url, clock, messenger, library) for _ in range(2)]
    try:
        for n in range(5):
            chat = Address(HOME.platform, f"new-{n}")
            replies = await asyncio.gather(
                bots[0].handle(said(ALICE, "/start", to=chat)),
                bots[1].handle(said(BOB, "/start", to=chat)),
                bots[0].handle(said(BOB, "/start", to=chat)),
            )
            texts = [r.text for rs in replies for r in rs]
            assert not [t for t in texts if t.startswith("Sorry")], texts
        async with bots[0].store.read() as session:
            spaces = (await session.exec(sm_select(Space))).all()
            members = (await session.exec(sm_select(Member))).all()
        assert len(spaces) == 5
        assert sorted((m.space_id, m.user_id) for m in members) == sorted(
            (s.id, u) for s in spaces for u in ("u1", "u2")
        )
    finally:
        for bot in bots:
            await bot.store.close()


@pytest.mark.parametrize("people", [2, 3])
async def test_people_starting_at_once_in_a_known_chat_make_two_partners_and_one_look_back(
    database_url: str, clock: FixedClock, library: Library, people: int
) -> None:
    """The chat is known already (the bot was added, someone asked for /help); then two or three
    people /start at the same moment, each seeing no partner yet. Two become partners, nobody
    hears "Sorry", a third is told the space is for two, and there is one Sunday look back."""
    who = (ALICE, BOB, ("u3", "Carol"))[:people]
    messenger = FakeMessenger()
    bots = [await build(database_url, clock, messenger, library) for _ in who]
    try:
        for n in range(5):
            chat = Address(HOME.platform, f"known-{n}")
            await bots[0].handle(said(ALICE, "/help", to=chat))
            replies = await asyncio.gather(
                *(bot.handle(said(p, "/start", to=chat)) for bot, p in zip(bots, who, strict=True))
            )
            texts = [r.text for rs in replies for r in rs]
            assert not [t for t in texts if t.startswith("Sorry")], texts
            refused = [t for t in texts if "already has its two partners" in t]
            assert len(refused) == people - 2, texts
        async with bots[0].store.read() as session:
            weekly = (
                await session.exec(sm_select(Schedule).where(Schedule.kind == "weekly"))
            ).all()
            partners = (await session.exec(sm_select(Member).where(Member.partner))).all()
        assert sorted(s.space_id for s in weekly) == sorted({m.space_id for m in partners})
        assert len(partners) == 10
    finally:
        for bot in bots:
            await bot.store.close()


# ---- Two instances on one PostgreSQL database ------------------------------------------------


def per_chat(messages: list[Outgoing]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in messages:
        counts[m.to.chat_id] = counts.get(m.to.chat_id, 0) + 1
    return counts


@pytest.fixture
async def pair(pg_url: str, clock: FixedClock, library: Library) -> AsyncIterator[list[Tandem]]:
    """Two instances on one PostgreSQL database, sharing one platform (one transcript)."""
    messenger = FakeMessenger()
    bots = [await build(pg_url, clock, messenger, library) for _ in range(2)]
    yield bots
    for bot in bots:
        await bot.store.close()


@pytest.mark.postgres
async def test_two_instances_never_send_the_same_retry(
    pair: list[Tandem], clock: FixedClock
) -> None:
    first, second = pair
    messenger = first.messenger
    assert isinstance(messenger, FakeMessenger)
    clock.set("2026-11-21T12:00:00+00:00")
    await populate(first.store, 40, clock.now())
    for day in range(3):  # a race may go either way: three days of it
        for n in range(40):
            messenger.fail(f"c{n}", SendResult(SendStatus.RETRY, retry_after=60, reason="Flood"))
        clock.set(f"2026-11-{21 + day}T13:00:00+00:00")
        assert (await first.dispatch_due()).retrying == 40
        clock.advance(minutes=11)
        await asyncio.gather(first.dispatch_due(), second.dispatch_due())
        assert per_chat(messenger.take()) == {f"c{n}": 1 for n in range(40)}
    assert await statuses(first.store) == {"sent": 120}


@pytest.mark.postgres
async def test_two_instances_share_due_schedules_and_a_lost_race_skips_only_its_rows(
    pair: list[Tandem], clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatcher, "BATCH", 25)
    first, second = pair
    messenger = first.messenger
    assert isinstance(messenger, FakeMessenger)
    await populate(first.store, 200, clock.now(), kinds=("prompt", "checkin"))
    clock.set("2026-11-21T13:00:00+00:00")
    reports = await asyncio.gather(first.dispatch_due(), second.dispatch_due())
    # Each chat got its step and its check-in once: in one message when both were claimed in
    # the same batch (issue 21), else in two.
    texts: dict[str, str] = {}
    sent = messenger.take()
    for m in sent:
        texts[m.to.chat_id] = texts.get(m.to.chat_id, "") + m.text
    assert {c: (t.count("🌱 Today's step"), t.count("💬 Check-in")) for c, t in texts.items()} == {
        f"c{n}": (1, 1) for n in range(200)
    }
    # Mostly one message: the check-in, with the step inside. Two only where another instance
    # held the other schedule at that moment (then each goes on its own, never doubled).
    assert sum(r.sent for r in reports) == len(sent) < 300
    assert all(r.sent > 0 for r in reports), [r.sent for r in reports]  # the work was shared
    await asyncio.gather(first.dispatch_due(), second.dispatch_due())
    assert messenger.take() == []


@pytest.mark.postgres
async def test_recovery_takes_only_expired_claims_of_instances_that_stopped_beating(
    pair: list[Tandem], clock: FixedClock
) -> None:
    first, second = pair
    messenger = first.messenger
    assert isinstance(messenger, FakeMessenger)
    await populate(first.store, 2, clock.now())
    clock.set("2026-11-21T13:00:00+00:00")
    assert await first.dispatcher.beat() == 1
    assert await second.dispatcher.beat() == 2  # each takes half the platform's rate
    jobs = await first.dispatcher._claim_schedules(clock.now(), DispatchReport())
    assert jobs is not None and len(jobs) == 2
    await first.dispatcher._write([jobs[0].delivery_id], [])  # the first is being handed over
    # The first instance is alive: its claims are its own, however often the other recovers.
    for _ in range(4):
        clock.advance(seconds=HEARTBEAT.total_seconds())
        assert await first.dispatcher.beat() == 2
        assert await second.dispatcher.beat() == 2
        await second.dispatch_due()
        assert messenger.take() == []
    assert await statuses(first.store) == {"handing": 1, "claimed": 1}
    async with first.store.read() as session:
        leases = {d.lease_until for d in (await session.exec(sm_select(Delivery))).all()}
    assert leases == {clock.now() + LEASE}  # each beat moved its open leases on
    # Then it dies: once its lease runs out, the other sends what it never handed over.
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await second.dispatcher.beat() == 1
    await second.dispatch_due()
    assert [m.to for m in messenger.take()] == [jobs[1].address]
    assert await statuses(first.store) == {"interrupted": 1, "sent": 1}


async def test_a_clean_stop_gives_its_share_of_the_rate_back_at_once(
    sqlite_url: str, clock: FixedClock, library: Library
) -> None:
    bots = [await build(sqlite_url, clock, FakeMessenger(), library) for _ in range(2)]
    assert [await bot.dispatcher.beat() for bot in bots] == [1, 2]
    await bots[0].dispatcher.leave()
    assert await bots[1].dispatcher.beat() == 1
    for bot in bots:
        await bot.store.close()


# ---- A crash, a bad job, stale rows ----------------------------------------------------------


class Hanging(FakeMessenger):
    """Delivers the first `fine` messages; every later send hangs, as if cut off mid-request."""

    def __init__(self, fine: int) -> None:
        super().__init__()
        self.fine = fine
        self.stuck = asyncio.Event()
        self.never = asyncio.Event()

    async def send(self, msg: Outgoing) -> SendResult:
        if len(self.attempts) < self.fine:
            return await super().send(msg)
        self.attempts.append(msg)
        if len(self.attempts) >= self.fine + CONCURRENCY:
            self.stuck.set()  # every slot is taken by a send that will never answer
        await self.never.wait()
        raise AssertionError("unreachable")


async def test_a_kill_mid_burst_loses_at_most_what_was_in_flight_and_never_doubles(
    database_url: str, clock: FixedClock, library: Library
) -> None:
    hanging = Hanging(fine=10)
    bot = await build(database_url, clock, hanging, library)
    await populate(bot.store, 300, clock.now())
    clock.set("2026-11-21T13:00:00+00:00")
    burst = asyncio.create_task(bot.dispatch_due())
    await asyncio.wait_for(hanging.stuck.wait(), 60)
    burst.cancel()  # kill -9: nothing after this point is recorded
    with pytest.raises(asyncio.CancelledError):
        await burst
    await bot.store.close()

    after = FakeMessenger()
    bot = await build(database_url, clock, after, library)
    clock.advance(seconds=LEASE.total_seconds() + 1)  # on PostgreSQL, once its lease ran out
    interrupted = await bot.recover()
    await bot.dispatch_due()
    await bot.dispatch_due()
    before = per_chat(hanging.sent)
    later = per_chat(after.take())
    assert not set(before) & set(later)  # nothing arrived twice
    lost = 300 - len(before) - len(later)
    assert 0 < lost <= 2 * CONCURRENCY - 1  # only what was handed over and never answered
    found = await statuses(bot.store)
    assert found == {"sent": 300 - interrupted, "interrupted": interrupted}
    assert interrupted == lost
    await bot.store.close()


@pytest.mark.logs_errors("a prompt missing from content is logged as a render failure")
async def test_a_prompt_removed_from_content_fails_alone_and_the_rest_go_out(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await populate(lite.store, 3, clock.now())
    for n in range(3):
        messenger.fail(f"c{n}", SendResult(SendStatus.RETRY, reason="NetworkError"))
    clock.set("2026-11-21T13:00:00+00:00")
    await lite.dispatch_due()
    d = Delivery.__table__.c  # type: ignore[attr-defined]
    async with lite.store.unit() as session:
        conn = await session.connection()
        first = (await conn.execute(select(func.min(d.id)))).scalar_one()
        # Between two attempts the prompt was taken out of content/ (and the bot restarted).
        await conn.execute(update(Delivery).where(d.id == first).values(content_id="gone-01"))
    clock.advance(minutes=5)
    report = await lite.dispatch_due()
    assert sorted(m.to.chat_id for m in messenger.take()) == ["c1", "c2"]
    assert report.sent == 2 and report.failed == 1
    async with lite.store.read() as session:
        broken = await session.get(Delivery, first)
    assert broken is not None and broken.status == "failed"
    assert broken.reason == "could not render: KeyError"


async def test_stale_schedules_do_not_hold_fresh_ones_back_a_tick(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatcher, "BATCH", 2)
    clock.set("2026-11-21T08:00:00+00:00")
    await populate(lite.store, 5, clock.now(), times=("09:00",), prefix="old")
    await populate(lite.store, 1, clock.now(), times=("13:00",), prefix="new")
    clock.set("2026-11-21T13:00:00+00:00")  # the 09:00 ones are past the 3 hours' grace
    report = await lite.dispatch_due()
    assert [m.to.chat_id for m in messenger.take()] == ["new0"]
    assert report.missed == 5


async def test_each_adapter_is_told_how_many_instances_share_its_rate(
    tmp_path: object, clock: FixedClock, library: Library
) -> None:
    import io
    from pathlib import Path

    from adapters.console import ConsoleAdapter
    from bot.app import App
    from bot.settings import Settings

    class Sharing(ConsoleAdapter):
        shares: ClassVar[list[int]] = []

        def set_instances(self, count: int) -> None:
            self.shares.append(count)

    url = f"sqlite:///{tmp_path}/rate.db"
    console = Sharing(out=io.StringIO(), export_dir=Path(str(tmp_path)))
    app = App(Settings(database_url=url), [console], clock=clock, library=library)
    await app.start()
    other = await build(url, clock, FakeMessenger(), library)
    try:
        assert console.shares == [1]
        await other.dispatcher.beat()  # a second instance starts
        await app._beat()
        assert console.shares == [1, 2]
        await other.dispatcher.leave()
        await app._beat()
        assert console.shares == [1, 2, 1]
    finally:
        await other.store.close()
        await app.stop()


async def test_a_batch_that_fails_half_way_is_given_back_not_left_claimed(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatcher, "HAND_GROUP", 1)
    await populate(lite.store, 3, clock.now())
    clock.set("2026-11-21T13:00:00+00:00")
    write = lite.dispatcher._write
    calls = 0

    async def flaky(handing: list[int], outcomes: list[dict[str, object]]) -> set[int]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("the database went away")
        return await write(handing, outcomes)

    monkeypatch.setattr(lite.dispatcher, "_write", flaky)
    with pytest.raises(ConnectionError):
        await lite.dispatch_due()
    [first] = messenger.take()  # handed over and sent before the failure
    await lite.dispatch_due()  # the next tick, same instance: the other two go out, once
    assert sorted(m.to.chat_id for m in messenger.take()) == sorted(
        {"c0", "c1", "c2"} - {first.to.chat_id}
    )
    assert await statuses(lite.store) == {"interrupted": 1, "sent": 2}


class Gated(FakeMessenger):
    """A platform that holds every send until opened: an instance busy behind its rate share."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.busy = asyncio.Event()

    async def send(self, msg: Outgoing) -> SendResult:
        self.busy.set()
        await self.gate.wait()
        return await super().send(msg)


@pytest.mark.postgres
async def test_a_busy_instance_leaves_the_rest_of_a_burst_to_the_others(
    pg_url: str, clock: FixedClock, library: Library
) -> None:
    """With another instance alive, a claim takes a slice, not the whole burst: while the first
    waits on the platform, the second finds work instead of nothing."""
    slow, quick = Gated(), FakeMessenger()
    first = await build(pg_url, clock, slow, library)
    second = await build(pg_url, clock, quick, library)
    try:
        await populate(first.store, 300, clock.now())
        clock.set("2026-11-21T13:00:00+00:00")
        for bot in (first, second):
            await bot.dispatcher.beat()  # both alive now
        waiting = asyncio.create_task(first.dispatch_due())
        await asyncio.wait_for(slow.busy.wait(), 30)

        report = await asyncio.wait_for(second.dispatch_due(), 60)
        slow.gate.set()
        await asyncio.wait_for(waiting, 60)

        assert report.sent > 0
        assert sorted(per_chat(slow.take() + quick.take()).values()) == [1] * 300
    finally:
        slow.gate.set()
        for bot in (first, second):
            await bot.store.close()


async def test_on_sqlite_the_schedule_claim_walks_the_due_index_without_statistics(
    tmp_path: Path, clock: FixedClock, library: Library
) -> None:
    """Through the space's (platform, chat_id) index, a claim sorted every space for each batch
    (make bench: a million spaces); the claim must walk `ix_schedule_due` whatever SQLite's
    statistics say, here with none at all."""
    import sqlite3

    from sqlalchemy import event

    url = f"sqlite:///{tmp_path}/t.db"
    bot = await build(url, clock, FakeMessenger(), library, platforms=frozenset({HOME.platform}))
    seen: list[tuple[str, object]] = []

    def capture(_conn: object, _cursor: object, statement: str, params: object, *_: object) -> None:
        if "FROM schedule JOIN space" in statement:
            seen.append((statement, params))

    event.listen(bot.store.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await populate(bot.store, 50, clock.now())
        clock.set("2026-11-21T13:00:00+00:00")
        assert (await bot.dispatch_due()).sent == 50
    finally:
        await bot.store.close()
    assert seen
    statement, params = seen[0]
    with contextlib.closing(sqlite3.connect(tmp_path / "t.db")) as db:
        db.execute("DROP TABLE IF EXISTS sqlite_stat1")
        plan = " / ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {statement}", params))
    assert "ix_schedule_due" in plan and "TEMP B-TREE" not in plan, plan


async def test_an_instance_that_stalled_past_its_lease_does_not_send_what_another_took(
    pg_url: str, clock: FixedClock, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stall longer than the lease (a slow disk, a paused VM): the others recover its claims
    and send them; when it wakes, it must not send them as well."""
    monkeypatch.setattr(dispatcher, "HAND_GROUP", 2)
    slow, quick = Gated(), FakeMessenger()
    first = await build(pg_url, clock, slow, library)
    second = await build(pg_url, clock, quick, library)
    try:
        await populate(first.store, 6, clock.now())
        clock.set("2026-11-21T13:00:00+00:00")
        await first.dispatcher.beat()  # alone: it claims all six, and hands over two at a time
        first.dispatcher._limit = asyncio.Semaphore(2)  # two sends in flight, the rest wait
        stalled = asyncio.create_task(first.dispatch_due())
        await asyncio.wait_for(slow.busy.wait(), 30)

        clock.advance(seconds=2 * LEASE.total_seconds())
        await second.dispatcher.beat()  # the first has not beaten: its claims are recovered
        await second.dispatch_due()
        slow.gate.set()
        await asyncio.wait_for(stalled, 30)

        got = per_chat(slow.take() + quick.take())
        assert all(n == 1 for n in got.values()), got
        assert len(got) >= 6 - 2 * 2  # at most what was handed over may be lost
    finally:
        slow.gate.set()
        for bot in (first, second):
            await bot.store.close()
