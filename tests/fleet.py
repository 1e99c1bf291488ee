"""Several real `tandem run` processes on one database, against the fake Bot API in this process.

Used by tests/test_fleet.py (and benchmarks/bench.py): it seeds Telegram groups all due at once
(straight into the database, in wall time: a process started with `tandem run` reads the system
clock), starts and kills instances, and counts what each chat received and who sent it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from aiohttp import web
from sqlalchemy import insert, inspect, text

from tests.telegram.fake_api import SENDS, TOKEN, FakeBotApi

ROOT = Path(__file__).resolve().parents[1]
FIRST_CHAT = -1009_000_000_000  # supergroup ids, well away from the other tests' chats
_PEER: ContextVar[int | None] = ContextVar("peer", default=None)


@dataclass
class PacedBotApi(FakeBotApi):
    """The fake Bot API, answering each send after `pace` seconds (a slow Telegram), so a burst
    lasts long enough to kill an instance in the middle of it; it notes which process sent
    each message (`identify` names the process behind a client port)."""

    pace: float = 0.0
    identify: Callable[[int], str | None] | None = None
    senders: dict[int, list[str | None]] = field(default_factory=dict)
    polls: list[tuple[str | None, float]] = field(default_factory=list)  # (who, when) getUpdates

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        token = _PEER.set(peer[1] if peer else None)
        try:
            return await super()._serve(request)
        finally:
            _PEER.reset(token)

    async def _answer(self, method: str, params: dict[str, Any]) -> Any:
        port = _PEER.get()
        if method == "getUpdates":
            name = self.identify(port) if self.identify and port else None
            self.polls.append((name, asyncio.get_running_loop().time()))
        if method in SENDS:
            name = self.identify(port) if self.identify and port else None
            self.senders.setdefault(params.get("chat_id"), []).append(name)  # type: ignore[arg-type]
            if self.pace:
                await asyncio.sleep(self.pace)
        return await super()._answer(method, params)

    def pollers(self, since: float = 0.0) -> set[str | None]:
        """The processes that asked for updates (since a loop time)."""
        return {name for name, at in self.polls if at >= since}

    def shares(self) -> Counter[str | None]:
        """How many messages each process sent."""
        return Counter(name for names in self.senders.values() for name in names)


async def until(
    check: Callable[[], Any | Awaitable[Any]], within: float, every: float = 0.2
) -> Any:
    """Polls `check` (sync or async) until it is truthy, for at most `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        found = check()
        if asyncio.iscoroutine(found):
            found = await found
        if found:
            return found
        if loop.time() > deadline:
            raise TimeoutError(f"still not true after {within:.0f} s")
        await asyncio.sleep(every)


@dataclass
class Instance:
    """One `tandem run` process; its stderr goes to a file (a full pipe would stall it)."""

    name: str
    process: asyncio.subprocess.Process
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """kill -9: no clean stop, no chance to record what was in flight."""
        self.process.kill()

    async def stop(self, within: float = 20.0) -> int:
        """SIGTERM, as a supervisor stops it; returns the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), within)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode if self.process.returncode is not None else -1


@dataclass
class Fleet:
    """Tandem instances on one database (`url`), all talking to `api`."""

    api: FakeBotApi
    url: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)  # extra settings for every instance
    tick_seconds: float = 0.5
    lease_seconds: float | None = None  # a short claim lease (tests/fleet_run.py)
    instances: list[Instance] = field(default_factory=list)
    _ports: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.api, PacedBotApi):
            self.api.identify = self.instance_at

    def instance_at(self, port: int) -> str | None:
        """The instance whose TCP connection comes from this local port (its pooled
        connections to the fake Bot API), found through /proc while it runs."""
        alive = {i.name for i in self.running()}
        if self._ports.get(port) not in alive:  # new, or a port a dead instance had
            for instance in self.running():
                with contextlib.suppress(psutil.Error):
                    for conn in psutil.Process(instance.pid).net_connections("tcp"):
                        if conn.laddr and conn.laddr.port == port:
                            self._ports[port] = instance.name
        return self._ports.get(port)

    def environment(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "DISCORD_", "DATABASE_", "TANDEM_"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_BASE_URL=self.api.base_url,
            DATABASE_URL=self.url,
            TICK_SECONDS=str(self.tick_seconds),
            LOG_LEVEL="INFO",
            PYTHONPATH=str(ROOT),
            **self.env,
        )
        if self.lease_seconds is not None:
            env["FLEET_LEASE_SECONDS"] = str(self.lease_seconds)
        return env

    async def start(self, count: int = 1, within: float = 60.0) -> list[Instance]:
        """Starts `count` more instances side by side; returns once each is connected."""
        started = []
        for _ in range(count):
            name = f"i{len(self.instances)}"
            log = self.workdir / f"{name}.log"
            with log.open("wb") as err:
                command = ("tests.fleet_run",) if self.lease_seconds else ("bot", "run")
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    *command,
                    cwd=self.workdir,  # away from any developer's .env
                    env=self.environment(),
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=err,
                )
            instance = Instance(name, process, log)
            self.instances.append(instance)
            started.append(instance)

        def connected() -> bool:
            for instance in started:
                if instance.process.returncode is not None:
                    raise AssertionError(f"{instance.name} exited:\n{instance.logs()}")
            return all("telegram: connected as" in i.logs() for i in started)

        await until(connected, within)
        return started

    def running(self) -> list[Instance]:
        return [i for i in self.instances if i.process.returncode is None]

    async def stop(self) -> dict[str, int]:
        """Stops every instance still running (SIGTERM); returns their exit codes."""
        running = self.running()
        codes = await asyncio.gather(*(i.stop() for i in running))
        return {i.name: c for i, c in zip(running, codes, strict=True)}

    def tracebacks(self) -> dict[str, str]:
        """Each instance's log from its first line at ERROR or with a traceback: there should
        be none."""
        found = {}
        for instance in self.instances:
            lines = instance.logs().splitlines()
            bad = [
                n
                for n, line in enumerate(lines)
                if "Traceback" in line or " ERROR " in line or " CRITICAL " in line
            ]
            if bad:
                # The first error with its whole traceback, down to the exception's own line.
                end = next(
                    (
                        n
                        for n in range(bad[0] + 1, len(lines))
                        if lines[n] and not lines[n].startswith((" ", "Traceback"))
                    ),
                    len(lines) - 1,
                )
                found[instance.name] = "\n".join([lines[bad[0]], *lines[end : end + 3]])
        return found


def group_chats(count: int) -> list[int]:
    return [FIRST_CHAT - i for i in range(count)]


async def seed_groups(url: str, count: int, due: datetime | None = None) -> list[int]:
    """`count` Telegram groups with a daily prompt, all due at `due` (the current wall-clock
    minute by default), written in one transaction; returns their chat ids."""
    from bot.service import DEFAULT_TOPICS
    from bot.store import Schedule, Space, make_engine

    now = datetime.now(UTC)
    due = due or now.replace(second=0, microsecond=0)
    chats = group_chats(count)
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            ids = (
                await conn.execute(
                    insert(Space).returning(Space.__table__.c.id),  # type: ignore[attr-defined]
                    [
                        {
                            "platform": "telegram",
                            "chat_id": str(chat),
                            "timezone": "UTC",
                            "topics": DEFAULT_TOPICS,
                            "active": True,
                            "content_cycle": 0,
                            "created_at": now - timedelta(days=1),
                        }
                        for chat in chats
                    ],
                )
            ).scalars()
            await conn.execute(
                insert(Schedule),
                [
                    {
                        "space_id": space_id,
                        "kind": "prompt",
                        "local_time": f"{due:%H:%M}",
                        "weekdays": "mon,tue,wed,thu,fri,sat,sun",
                        "next_due_at": due,
                    }
                    for space_id in ids
                ],
            )
    finally:
        await engine.dispose()
    return chats


async def migrate(url: str) -> None:
    from bot.migrate import upgrade
    from bot.store import make_engine

    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Tally:
    """What the fake Telegram received, per chat."""

    per_chat: Counter[int]
    chats: list[int]

    @property
    def doubles(self) -> list[int]:
        return [c for c in self.chats if self.per_chat[c] > 1]

    @property
    def lost(self) -> list[int]:
        return [c for c in self.chats if self.per_chat[c] == 0]

    @property
    def reached(self) -> int:
        return sum(1 for c in self.chats if self.per_chat[c])


def tally(api: FakeBotApi, chats: list[int]) -> Tally:
    wanted = set(chats)
    counts: Counter[int] = Counter(c.chat_id for c in api.sent() if c.chat_id in wanted)
    return Tally(counts, chats)


async def deliveries(url: str) -> list[dict[str, Any]]:
    """Every delivery row with its chat: status, and who claimed it where the schema says."""
    from bot.store import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("delivery")}
            )
            owner = "d.claimed_by" if "claimed_by" in columns else "NULL"
            rows = await conn.execute(
                text(
                    f"SELECT s.chat_id, d.status, {owner} AS owner "
                    "FROM delivery d JOIN space s ON s.id = d.space_id"
                )
            )
            return [
                {"chat": int(r.chat_id), "status": r.status, "owner": r.owner} for r in rows.all()
            ]
    finally:
        await engine.dispose()


async def settled(url: str, chats: list[int]) -> bool:
    """Every chat has a delivery, and none is still claimed or waiting to be sent."""
    rows = await deliveries(url)
    done = {r["chat"] for r in rows if r["status"] not in ("claimed", "handing", "retry")}
    return done >= set(chats)
