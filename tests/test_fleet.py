"""Several real `tandem run` processes sharing one burst of due prompts; kill -9 in the middle.

Each instance is its own process (tests/fleet.py), talking to the fake Bot API served here.
What counts is what a couple would notice: every group gets its prompt exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.telegram_limits import Limits
from bot.delivery import CONCURRENCY
from tests.conftest import _postgres_database
from tests.fleet import (
    Fleet,
    PacedBotApi,
    deliveries,
    migrate,
    seed_groups,
    settled,
    tally,
    until,
)

GROUPS = 200
# Why no instance is starved in the share test: the burst is seeded only once every instance is
# connected, and the instances share Telegram's 30 messages a second between them, so sending
# GROUPS takes many ticks (0.5 s each), whoever is fastest: each instance ticks while rows wait.
_RATE, _PER = Limits().overall or (30, 1.0)
BURST_SECONDS = GROUPS / _RATE * _PER
assert BURST_SECONDS > 10 * 0.5, "the burst must last many ticks for every instance to share it"
# The worst case bot/delivery/ documents: rows are marked as handed over CONCURRENCY at a time,
# just before their sends start, so fewer than two groups of them can be in flight.
IN_FLIGHT = 2 * CONCURRENCY
LEASE = 6.0  # seconds: a killed instance's claims are taken over this long after its last beat
WITHIN = 60.0  # generous: a loaded two-core machine starts four Pythons slowly


def assert_no_tracebacks(fleet: Fleet) -> None:
    found = fleet.tracebacks()
    assert not found, "\n\n".join(f"--- {name}:\n{text}" for name, text in found.items())


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.fixture
async def api() -> AsyncIterator[PacedBotApi]:
    server = PacedBotApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def fleet(
    api: PacedBotApi, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Fleet]:
    url = request.getfixturevalue("pg_url") if "pg" in request.fixturenames else None
    fleet = Fleet(api, url or f"sqlite:///{tmp_path}/tandem.db", tmp_path)
    await migrate(fleet.url)  # the schema first, so the instances start side by side
    yield fleet
    for instance in fleet.instances:
        if instance.process.returncode is None:
            instance.kill()
            await instance.process.wait()


@pytest.fixture
def pg(pg_url: str) -> str:
    return pg_url


@pytest.mark.postgres
@pytest.mark.parametrize("count", [2, 4])
async def test_instances_share_a_burst_without_doubles_or_losses(
    pg: str, fleet: Fleet, api: PacedBotApi, count: int
) -> None:
    await fleet.start(count)
    chats = await seed_groups(fleet.url, GROUPS)

    await until(lambda: tally(api, chats).reached == GROUPS, WITHIN)
    await until(lambda: settled(fleet.url, chats), WITHIN)
    rows = await deliveries(fleet.url)
    codes = await fleet.stop()

    sent = tally(api, chats)
    assert sent.doubles == [], f"{len(sent.doubles)} groups got their prompt twice"
    assert sent.lost == []
    assert Counter(r["status"] for r in rows) == {"sent": GROUPS}
    assert codes == {i.name: 0 for i in fleet.instances}
    assert_no_tracebacks(fleet)
    # One instance polls Telegram (a second getUpdates would get 409 Conflict); all deliver.
    assert len(api.pollers()) == 1, f"several instances polled: {api.pollers()}"
    # Each instance sent a share, as Telegram saw it (which process each message came from).
    shares = api.shares()
    assert sum(shares.values()) == GROUPS
    assert set(shares) == {i.name for i in fleet.instances}, f"not split: {dict(shares)}"


@pytest.mark.postgres
async def test_kill_9_mid_burst_the_others_finish_and_lose_at_most_what_was_in_flight(
    pg: str, fleet: Fleet, api: PacedBotApi
) -> None:
    api.pace = 0.05  # a slow Telegram: the burst lasts several seconds
    fleet.lease_seconds = LEASE
    await fleet.start(3)
    chats = await seed_groups(fleet.url, GROUPS)

    await until(lambda: len(api.sent()) >= GROUPS // 5, WITHIN)
    # The instance sending the most right now is the one with the most in hand.
    busiest, _ = api.shares().most_common(1)[0]
    victim = next(i for i in fleet.instances if i.name == busiest)
    others = [i for i in fleet.instances if i is not victim]
    victim.kill()
    await victim.process.wait()
    at_kill = len(api.sent())
    killed_at = asyncio.get_running_loop().time()

    await until(lambda: settled(fleet.url, chats), WITHIN)
    if victim.name in api.pollers():  # it was the one polling Telegram: another takes over
        await until(lambda: api.pollers(since=killed_at) - {victim.name, None}, WITHIN)
    rows = await deliveries(fleet.url)
    codes = await fleet.stop()

    sent = tally(api, chats)
    interrupted = {r["chat"] for r in rows if r["status"] == "interrupted"}
    assert at_kill < GROUPS, "the burst ended before the kill: the test proves nothing"
    assert sent.doubles == []
    # Only what the killed instance had handed to Telegram may be lost, and it is marked so.
    assert set(sent.lost) <= interrupted
    assert len(interrupted) < IN_FLIGHT
    assert {r["status"] for r in rows} <= {"sent", "interrupted"}
    shares = api.shares()
    assert sum(shares[i.name] for i in others) > 0, f"no survivor took over: {dict(shares)}"
    assert codes == {i.name: 0 for i in others}
    assert_no_tracebacks(fleet)


async def test_kill_9_a_lone_sqlite_instance_then_restart_sends_what_was_never_handed_over(
    fleet: Fleet, api: PacedBotApi
) -> None:
    api.pace = 0.05
    [first] = await fleet.start(1)
    chats = await seed_groups(fleet.url, GROUPS)

    await until(lambda: len(api.sent()) >= GROUPS // 5, WITHIN)
    first.kill()
    await first.process.wait()
    at_kill = len(api.sent())
    await fleet.start(1)

    await until(lambda: settled(fleet.url, chats), WITHIN)
    rows = await deliveries(fleet.url)
    codes = await fleet.stop()

    sent = tally(api, chats)
    interrupted = {r["chat"] for r in rows if r["status"] == "interrupted"}
    assert at_kill < GROUPS
    assert sent.doubles == []
    assert set(sent.lost) <= interrupted
    assert len(interrupted) < IN_FLIGHT, (
        f"{len(interrupted)} deliveries given up after the restart; only those handed over "
        "to Telegram may be"
    )
    assert codes == {fleet.instances[1].name: 0}
    assert_no_tracebacks(fleet)


async def test_a_stop_during_a_heartbeat_lets_it_finish_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGTERM while a heartbeat is writing: the beat finishes (as a dispatch in flight does)
    rather than being cancelled by the scheduler's shutdown, which logged a traceback."""
    from bot.app import App
    from bot.settings import Settings

    class Quiet:
        platform = "quiet"

        async def send(self, msg: object) -> None:
            raise AssertionError("nothing is due")

        async def start(self, tandem: object) -> None:
            return None

        async def stop(self) -> None:
            return None

    app = App(Settings(_env_file=None, database_url=f"sqlite:///{tmp_path}/t.db"), [Quiet()])  # type: ignore[list-item]
    await app.start()
    assert app.tandem is not None and app.scheduler is not None
    beat = app.tandem.dispatcher.beat
    writing, finished = asyncio.Event(), asyncio.Event()

    async def slow_beat() -> int:
        writing.set()
        await asyncio.sleep(0.3)  # a slow database
        live = await beat()
        finished.set()
        return live

    app.tandem.dispatcher.beat = slow_beat  # type: ignore[method-assign]
    app.scheduler.get_job("heartbeat").modify(next_run_time=datetime.now(UTC))
    await asyncio.wait_for(writing.wait(), 10)
    await app.stop()

    assert finished.is_set()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
