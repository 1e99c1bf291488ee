"""The delivery loop: claims what is due, sends it once, a group at a time, records the outcome."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

# Not `from bot.delivery import leases`: that names the package, which imports this module.
import bot.delivery.leases as leases
from bot.content import Library
from bot.delivery.claims import Claims
from bot.delivery.compose import Composer, Finisher, render_all
from bot.delivery.jobs import DispatchReport, Job
from bot.delivery.outcomes import Recorder
from bot.delivery.planner import NextAsk
from bot.delivery.statements import HotWrites
from bot.messages import Outgoing, SendResult, SendStatus
from bot.ports import Clock, Messenger
from bot.store import Store

log = logging.getLogger(__name__)

# How much one instance takes on at once, and how long a send may take. Read from this module
# when used, so a test sets them here.
BATCH = 1000
SEND_TIMEOUT = 60.0
CONCURRENCY = 64
# Rows are marked `handing` this many at a time, just before their sends start: a kill loses at
# most what was marked and not yet answered, fewer than 2 x CONCURRENCY, never a whole batch.
HAND_GROUP = CONCURRENCY
# With other instances alive, a claim takes only this many rows, so a burst is shared out
# instead of one instance holding it all behind its share of the platform's rate.
SHARED_BATCH = HAND_GROUP


class Dispatcher:
    """The delivery loop; one call to `dispatch_due` sends everything due at the clock's now."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        library: Library,
        messenger: Messenger,
        grace: timedelta,
        platforms: frozenset[str] | None = None,
        composers: dict[str, Composer] | None = None,
        finishers: dict[str, Finisher] | None = None,
        next_ask: NextAsk | None = None,
    ) -> None:
        self.platforms = platforms  # only chats whose platform is connected now are claimed
        self.composers = composers or {}
        self.finishers = finishers or {}
        self.next_ask = next_ask
        self.store = store
        self.clock = clock
        self.library = library
        self.messenger = messenger
        self.grace = grace
        self._limit = asyncio.Semaphore(CONCURRENCY)
        self._running = asyncio.Lock()
        # Who claims: a fresh id per process, so a restarted process never mistakes the
        # claims its predecessor left for its own.
        self.instance = str(uuid.uuid4())
        self._started: datetime | None = None
        self.instances = 1  # live instances at the last beat
        hot = HotWrites(store.engine.dialect)
        self.recorder = Recorder(store, clock, hot.recorded)
        self.claims = Claims(store, library, self.instance, grace, platforms, hot)

    @property
    def batch(self) -> int:
        """How many rows one claim takes: all it can (a batch) alone, a fair slice when shared."""
        return BATCH if self.instances <= 1 else SHARED_BATCH

    async def dispatch_due(self) -> DispatchReport:
        report = DispatchReport()
        async with self._running:  # two ticks never claim the same rows
            now = self.clock.now()
            if not self.store.is_sqlite:
                # Counted at every tick, not only at the beat: an instance that started a moment
                # ago must get its slice of a burst due now.
                self.instances = await leases.live(self.store, now)
            # Each loop runs until no due row is left: a batch that was all missed or stale
            # must not leave fresh rows behind it for the next tick.
            while (claimed := await self._claim_schedules(now, report)) is not None:
                await self._send_and_record(claimed, report)
            while self.next_ask is not None and (
                (claimed := await self._claim_promises(now, report)) is not None
            ):
                await self._send_and_record(claimed, report)
            while (claimed := await self._claim_retries(now, report)) is not None:
                await self._send_and_record(claimed, report)
        return report

    async def idle(self) -> None:
        """Returns once no dispatch is in flight."""
        async with self._running:
            return

    async def beat(self) -> int:
        """This instance is alive: its heartbeat and the leases of its open claims move on,
        what stopped instances left is recovered, and the number of live instances returned
        (each takes that share of the platform's rate)."""
        now = self.clock.now()
        self._started = self._started or now
        await leases.beat(self.store, self.instance, self._started, now)
        await self.recover()
        self.instances = await leases.live(self.store, now)
        return self.instances

    async def leave(self) -> None:
        """A clean stop: this instance no longer counts as live (its share of the rate goes
        to the others at their next beat)."""
        await leases.leave(self.store, self.instance)

    async def recover(self) -> int:
        """Recovers the open claims of instances that stopped (see `leases.recover`); returns
        how many were interrupted while being handed over."""
        return await leases.recover(self.store, self.instance, self.clock.now())

    async def send_jobs(self, jobs: list[Job]) -> DispatchReport:
        """Sends deliveries claimed elsewhere (an on-demand check-in) and records the outcome."""
        report = DispatchReport()
        await self._send_and_record(jobs, report, bulk=False)  # someone asked and is waiting
        return report

    async def _claim_schedules(self, now: datetime, report: DispatchReport) -> list[Job] | None:
        return await self.claims.schedules(now, report, self.batch)

    async def _claim_promises(self, now: datetime, report: DispatchReport) -> list[Job] | None:
        assert self.next_ask is not None
        return await self.claims.promises(now, report, self.batch, self.next_ask)

    async def _claim_retries(self, now: datetime, report: DispatchReport) -> list[Job] | None:
        return await self.claims.retries(now, report, self.batch)

    async def _write(self, handing: list[int], outcomes: list[dict[str, Any]]) -> set[int]:
        """Writes finished outcomes and marks the next rows `handing` (see `Claims.hand_over`)."""
        return await self.claims.hand_over(handing, outcomes)

    async def _send_one(self, msg: Outgoing) -> SendResult:
        try:
            async with asyncio.timeout(SEND_TIMEOUT):  # unlike wait_for, no task per send
                return await self.messenger.send(msg)
        except TimeoutError:
            return SendResult(SendStatus.RETRY, reason="timeout")
        except Exception as err:  # an adapter bug must not stop the other chats' deliveries
            log.error("send raised %s; will retry", type(err).__name__)
            return SendResult(SendStatus.RETRY, reason=type(err).__name__)

    async def _send_and_record(
        self, jobs: list[Job], report: DispatchReport, bulk: bool = True
    ) -> None:
        messages, broken = await render_all(
            jobs, bulk, self.library, self.composers, self.finishers
        )
        quiet = {i for i, m in enumerate(messages) if m is None and i not in broken}
        sendable = [i for i, m in enumerate(messages) if m is not None]
        results: dict[int, SendResult] = {}
        outcomes: dict[int, dict[str, Any]] = {}  # finished, not yet written
        marked = 0  # sendable[:marked] are marked `handing`
        marking = asyncio.Lock()
        mine: set[int] = set()  # the rows this instance marked, still its own claims then

        async def hand_over(position: int) -> None:
            # Rows are marked a small group at a time, just before their sends start; the
            # outcomes finished meanwhile are written in the same transaction.
            nonlocal marked
            if position < marked:  # its group is marked already: no need to queue for the lock
                return
            async with marking:
                while position >= marked:
                    group = [jobs[i].delivery_id for i in sendable[marked : marked + HAND_GROUP]]
                    done, outcomes_now = list(outcomes), list(outcomes.values())
                    mine.update(await self._write(group, outcomes_now))
                    for index in done:
                        del outcomes[index]
                    marked += len(group)

        async def deliver(position: int, index: int) -> None:
            job, message = jobs[index], messages[index]
            assert message is not None
            async with self._limit:
                await hand_over(position)
                if job.delivery_id not in mine:
                    # Stalled past its lease, this instance lost the row to another one's
                    # recovery, which sends it: sending it here too would be a double.
                    taken.add(index)
                    return
                result = await self._send_one(message)
                if (
                    result.status is SendStatus.MOVED
                    and result.new_address is not None
                    and not job.recipient  # a private chat never moves; a group may
                ):
                    moved = await self.recorder.move(job.space_id, result.new_address)
                    report.moved += 1
                    job.address = moved
                    result = await self._send_one(replace(message, to=moved))
            results[index] = result
            outcomes[index] = self.recorder.outcome(job, result)

        taken: set[int] = set()
        queue = iter(enumerate(sendable))  # shared: each worker takes the next job in order

        async def worker() -> None:
            for position, index in queue:
                await deliver(position, index)

        # A worker per send slot rather than a task per job: a batch of a thousand costs 64
        # tasks, not a thousand waiting on the same semaphore.
        tasks = [asyncio.ensure_future(worker()) for _ in range(min(CONCURRENCY, len(sendable)))]
        try:
            await asyncio.gather(*tasks)
            if taken:
                log.warning("%d claim(s) were taken over by another instance; not sent", len(taken))
            await self.recorder.record(jobs, results, report, quiet, broken, outcomes, taken)
        except Exception:
            for task in tasks:  # nothing of this batch goes on being sent behind our back
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await leases.give_back(self.store, [job.delivery_id for job in jobs], self.clock)
            raise
