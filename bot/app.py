"""Composition root: builds the store, clock, content, core, scheduler and adapters; nothing at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from filelock import FileLock

from bot.chart import Charts, default_processes
from bot.content import Library, load_content
from bot.datakey import open_store
from bot.delivery import HEARTBEAT
from bot.flood import FloodGate
from bot.housekeeping import Retention
from bot.logs import frames
from bot.messages import Address, Outgoing, SendResult, SendStatus
from bot.metrics import Health, Metrics, Server
from bot.ports import Clock, SystemClock
from bot.service import Tandem
from bot.settings import Settings
from bot.single import hold_sqlite
from bot.store import Store, make_engine

log = logging.getLogger(__name__)
STOP_TIMEOUT = 5.0


class Adapter(Protocol):
    """A platform connection: it sends for the core, and feeds it what members do."""

    platform: str

    async def send(self, msg: Outgoing) -> SendResult: ...
    async def start(self, tandem: Tandem) -> None: ...
    async def stop(self) -> None: ...


@dataclass
class Router:
    """The core's one Messenger: hands each message to the adapter of its platform."""

    adapters: dict[str, Adapter] = field(default_factory=dict)

    async def send(self, msg: Outgoing) -> SendResult:
        adapter = self.adapters.get(msg.to.platform)
        if adapter is None:
            return SendResult(SendStatus.RETRY, reason="platform not connected")
        return await adapter.send(msg)

    async def is_member(self, chat: Address, user_id: str) -> bool:
        adapter = self.adapters.get(chat.platform)
        check = getattr(adapter, "is_member", None)
        return True if check is None else bool(await check(chat, user_id))

    async def delete(self, to: Address, message_ref: str) -> bool:
        adapter = self.adapters.get(to.platform)
        remove = getattr(adapter, "delete", None)
        return False if remove is None else bool(await remove(to, message_ref))


@dataclass
class App:
    """One running Tandem: a store, the core, one scheduler job, and the adapters."""

    settings: Settings
    adapters: list[Adapter]
    clock: Clock = field(default_factory=SystemClock)
    library: Library | None = None
    store: Store | None = None
    tandem: Tandem | None = None
    scheduler: AsyncIOScheduler | None = None
    stopping: bool = False
    file_lock: FileLock | None = None
    metrics: Metrics | None = None
    server: Server | None = None
    last_beat: float | None = None  # monotonic time of the last heartbeat written
    live: int = 0
    # Held while a heartbeat writes: a stop waits for it, as for a dispatch in flight.
    _beating: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def start(self) -> Tandem:
        # A second process on one SQLite file would race the first's claims: refuse it at once.
        self.file_lock = hold_sqlite(self.settings.database_url)
        try:
            return await self._start()
        except BaseException:
            self.file_lock, held = None, self.file_lock
            if held is not None:
                held.release()
            raise

    async def _start(self) -> Tandem:
        library = self.library or load_content(self.settings.content_dir)
        # The data key is proven before anything is written; a wrong one raises DataKeyError.
        self.store = await open_store(make_engine(self.settings.database_url), self.settings)
        router = Router({a.platform: a for a in self.adapters})
        self.tandem = Tandem(
            self.store,
            self.clock,
            library,
            router,
            default_timezone=self.settings.default_timezone,
            grace=timedelta(minutes=self.settings.catchup_grace_minutes),
            platforms=frozenset(router.adapters),
            charts=Charts(default_processes()),
            retention=Retention(
                self.settings.note_retention_days, self.settings.inactive_retention_days
            ),
            flood=FloodGate(),
        )
        interrupted = await self.tandem.recover()
        if interrupted:
            log.warning(
                "%d delivery(ies) were interrupted by the last stop; not resent", interrupted
            )
        if self.settings.tandem_metrics_port is not None:
            # Before the platforms connect: a port in use stops the start before anything is sent.
            await self._serve_metrics(self.settings.tandem_metrics_port)
        for adapter in self.adapters:
            await adapter.start(self.tandem)
        self.scheduler = AsyncIOScheduler()
        # One job claims whatever is due; schedules live in the database, not in APScheduler.
        self.scheduler.add_job(
            self._tick,
            IntervalTrigger(seconds=self.settings.tick_seconds),
            id="dispatch",
            max_instances=1,
            coalesce=True,
            # Wall time: the ticker is infrastructure. Handed the injected clock (a fixed date in
            # tests), APScheduler would step through every interval since that date.
            next_run_time=datetime.now(UTC),
        )
        # The heartbeat runs apart from the dispatch job, so a long burst never looks like a
        # dead instance to the others.
        await self._beat()
        self.scheduler.add_job(
            self._beat,
            IntervalTrigger(seconds=HEARTBEAT.total_seconds()),
            id="heartbeat",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.start()
        return self.tandem

    async def _serve_metrics(self, port: int) -> None:
        assert self.tandem is not None and self.store is not None
        self.metrics = Metrics()
        self.tandem.on_reply = self.metrics.reply.observe
        health = Health(
            database=self._database_answers,
            platforms=lambda: {
                a.platform: bool(getattr(a, "connected", True)) for a in self.adapters
            },
            heartbeat_age=lambda: (
                None if self.last_beat is None else time.monotonic() - self.last_beat
            ),
            instances=lambda: self.live,
            rate_limit_waits=lambda: {
                a.platform: int(getattr(a, "rate_limit_waits", 0)) for a in self.adapters
            },
            pollers=lambda: {
                a.platform: bool(a.polling) for a in self.adapters if hasattr(a, "polling")
            },
        )
        self.metrics.watch(health)
        self.server = Server(self.metrics, health, self.settings.tandem_metrics_listen, port)
        await self.server.start()

    async def _database_answers(self) -> bool:
        assert self.store is not None
        async with self.store.engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
        return True

    async def _beat(self) -> None:
        """This instance is alive; each adapter takes its share of the platform's rate."""
        assert self.tandem is not None
        try:
            async with self._beating:
                live = await self.tandem.dispatcher.beat()
        except Exception as err:  # the next beat tries again
            log.error("heartbeat failed with %s\n%s", type(err).__name__, frames(err))
            return
        self.last_beat, self.live = time.monotonic(), live
        for adapter in self.adapters:
            share = getattr(adapter, "set_instances", None)
            if share is not None:
                share(live)

    async def _tick(self) -> None:
        assert self.tandem is not None
        try:
            report = await self.tandem.dispatch_due()
        except Exception as err:  # the next tick tries again; a tick must never kill the job
            log.error("dispatch failed with %s\n%s", type(err).__name__, frames(err))
            return
        if self.metrics is not None:
            self.metrics.dispatched(report)
        if self.stopping:
            return
        try:
            # Once a day (claimed in the database), on the tick that first sees the new day.
            await self.tandem.housekeeper.run()
        except Exception as err:
            log.error(
                "housekeeping failed with %s; the next tick tries again\n%s",
                type(err).__name__,
                frames(err),
            )
        if report.sent or report.missed or report.failed or report.retrying:
            log.info(
                "dispatch: sent %d, missed %d, retrying %d, failed %d",
                report.sent,
                report.missed,
                report.retrying,
                report.failed,
            )

    async def stop(self) -> None:
        self.stopping = True
        running = self.scheduler is not None and self.scheduler.running
        if running:
            self.scheduler.pause()  # type: ignore[union-attr]
        if self.tandem is not None:
            # Let an in-flight tick finish recording what it sent, so nothing is half-written;
            # shutting the scheduler down first would cancel it in the middle.
            try:
                await asyncio.wait_for(
                    asyncio.gather(self.tandem.dispatcher.idle(), self.tandem.housekeeper.idle()),
                    STOP_TIMEOUT,
                )
            except TimeoutError:
                log.warning("stopping while a delivery was still in flight")
            # A heartbeat in flight too (the scheduler's shutdown would cancel it mid-write);
            # the lock stays held, so none starts after this instance has signed off.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._beating.acquire(), STOP_TIMEOUT)
        if running:
            self.scheduler.shutdown(wait=False)  # type: ignore[union-attr]
        for adapter in reversed(self.adapters):
            try:
                await asyncio.wait_for(adapter.stop(), STOP_TIMEOUT)
            except Exception as err:
                log.warning(
                    "adapter %s did not stop cleanly: %s", adapter.platform, type(err).__name__
                )
        if self.tandem is not None:
            self.tandem.close()
            try:
                await self.tandem.dispatcher.leave()
            except Exception as err:
                log.warning("could not sign off the heartbeat: %s", type(err).__name__)
        if self.server is not None:
            await self.server.stop()
            self.server = None
        if self.store is not None:
            await self.store.close()
        if self.file_lock is not None:
            self.file_lock.release()
            self.file_lock = None


async def run_until_stopped(app: App, until: Callable[[], Awaitable[None]] | None = None) -> None:
    """Starts the app and runs it until SIGTERM/SIGINT (or `until` returns), then stops cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    waiters = [asyncio.create_task(stop.wait())]
    if until is not None:
        waiters.append(asyncio.create_task(until()))  # type: ignore[arg-type]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await app.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
