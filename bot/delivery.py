"""Claims what is due, sends it once, records the outcome, and advances each schedule."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.content import Library, pick_prompt
from bot.messages import Address, Outgoing, SendResult, SendStatus
from bot.ports import Clock, Messenger
from bot.render import checkin_message, prompt_message
from bot.schedule import local_date, next_due
from bot.store import ContentHistory, Delivery, Schedule, Space, Store, move_space

log = logging.getLogger(__name__)

BATCH = 1000
MAX_ATTEMPTS = 5
SEND_TIMEOUT = 60.0
CONCURRENCY = 64


_RETURNED = ("id", "schedule_id", "status", "kind", "local_date", "content_id", "space_id")


@dataclass
class Job:
    """One claimed delivery, ready to render and send."""

    delivery_id: int
    space_id: int
    kind: str
    local_date: date
    content_id: str
    address: Address
    attempts: int = 0


@dataclass
class DispatchReport:
    sent: int = 0
    missed: int = 0
    retrying: int = 0
    failed: int = 0
    deactivated: int = 0
    moved: int = 0


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 30 min, with jitter so retries do not arrive in step."""
    base = min(30 * 2 ** max(attempts - 1, 0), 1800)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def render(job: Job, library: Library) -> Outgoing:
    if job.kind == "prompt":
        return prompt_message(job.address, library.by_id[job.content_id], job.local_date)
    return checkin_message(job.address, library.question_by_id[job.content_id], job.delivery_id)


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
    ) -> None:
        self.platforms = platforms  # only chats whose platform is connected now are claimed
        self.store = store
        self.clock = clock
        self.library = library
        self.messenger = messenger
        self.grace = grace
        self._limit = asyncio.Semaphore(CONCURRENCY)
        self._running = asyncio.Lock()

    async def dispatch_due(self) -> DispatchReport:
        report = DispatchReport()
        async with self._running:  # two ticks never claim the same rows
            now = self.clock.now()
            while jobs := await self._claim_schedules(now, report):
                await self._send_and_record(jobs, report)
            while jobs := await self._claim_retries(now):
                await self._send_and_record(jobs, report)
        return report

    async def idle(self) -> None:
        """Returns once no dispatch is in flight."""
        async with self._running:
            return

    def _connected(self, platform_column: Any) -> Any:
        return true() if self.platforms is None else platform_column.in_(self.platforms)

    async def send_jobs(self, jobs: list[Job]) -> DispatchReport:
        """Sends deliveries claimed elsewhere (an on-demand check-in) and records the outcome."""
        report = DispatchReport()
        await self._send_and_record(jobs, report)
        return report

    async def recover(self) -> int:
        """After a crash: a delivery claimed but never recorded may have been sent; never resend."""
        async with self.store.unit() as session:
            conn = await session.connection()
            result = await conn.execute(
                update(Delivery)
                .where(Delivery.status == "claimed")  # type: ignore[arg-type]
                .values(status="interrupted", reason="stopped while sending")
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def _claim_schedules(self, now: datetime, report: DispatchReport) -> list[Job]:
        s, sp = Schedule.__table__.c, Space.__table__.c  # type: ignore[attr-defined]
        query = (
            select(
                s.id,
                s.space_id,
                s.kind,
                s.local_time,
                s.weekdays,
                s.next_due_at,
                sp.timezone,
                sp.topics,
                sp.last_topic,
                sp.content_cycle,
                sp.platform,
                sp.chat_id,
            )
            .join(
                Space, and_(sp.id == s.space_id, sp.active.is_(True), self._connected(sp.platform))
            )
            .where(s.next_due_at <= now)
            .order_by(s.next_due_at)
            .limit(BATCH)
        )
        async with self.store.unit() as session:
            conn = await session.connection()
            rows = (await conn.execute(query)).all()
            if not rows:
                return []
            return await self._claim_rows(conn, rows, now, report)

    async def _claim_rows(
        self, conn: AsyncConnection, rows: Sequence[Any], now: datetime, report: DispatchReport
    ) -> list[Job]:
        space_ids = list({r.space_id for r in rows})
        seen = await self._seen(conn, space_ids)
        spaces: dict[int, dict[str, Any]] = {}
        for r in rows:
            spaces.setdefault(r.space_id, {"last_topic": r.last_topic, "cycle": r.content_cycle})
        oldest = min(r.next_due_at for r in rows).date() - timedelta(days=1)
        already = await self._already_keyed(conn, [r.id for r in rows], oldest)
        inserts: list[dict[str, Any]] = []
        advances: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        addresses: dict[int, Address] = {}
        for r in rows:
            due: datetime = r.next_due_at
            send_at: datetime | None = due
            if now - due > self.grace:
                # Downtime: the newest occurrence may still be fresh; everything older is missed.
                newest = next_due(r.local_time, r.weekdays, r.timezone, now - self.grace)
                if (r.id, local_date(due, r.timezone)) not in already:
                    inserts.append(self._row(r, due, "missed", None))
                    report.missed += 1
                send_at = newest if newest <= now else None
            upcoming = next_due(r.local_time, r.weekdays, r.timezone, max(send_at or now, now))
            advances.append({"sid": r.id, "next": upcoming})
            if send_at is None:
                continue
            day = local_date(send_at, r.timezone)
            if (r.id, day) in already:
                continue
            if r.kind == "prompt":
                state = spaces[r.space_id]
                pick = pick_prompt(
                    self.library,
                    r.topics.split(","),
                    state["last_topic"],
                    seen.setdefault(r.space_id, set()),
                    r.space_id,
                    audience="both",
                )
                if pick.new_cycle:
                    state["cycle"] += 1
                    seen[r.space_id] = set()
                state["last_topic"] = pick.prompt.topic
                seen[r.space_id].add(pick.prompt.id)
                content = pick.prompt.id
                history.append(
                    {
                        "space_id": r.space_id,
                        "prompt_id": content,
                        "cycle": state["cycle"],
                        "shown_at": now,
                    }
                )
            else:
                content = self.library.question_for(day.toordinal()).id
            inserts.append(self._row(r, send_at, "claimed", content))
            addresses[r.id] = Address(r.platform, r.chat_id)
        jobs: list[Job] = []
        if inserts:
            # Written before the send: the unique (schedule, local date) key makes a second send
            # of the same day impossible, whatever happens after this commit.
            result = await conn.execute(
                insert(Delivery).returning(
                    *(Delivery.__table__.c[name] for name in _RETURNED)  # type: ignore[attr-defined]
                ),
                inserts,
            )
            for d in result.all():
                if d.status == "claimed":
                    jobs.append(
                        Job(
                            d.id,
                            d.space_id,
                            d.kind,
                            d.local_date,
                            d.content_id,
                            addresses[d.schedule_id],
                        )
                    )
        if history:
            await conn.execute(insert(ContentHistory), history)
            await conn.execute(
                update(Space)
                .where(Space.__table__.c.id == bindparam("spid"))  # type: ignore[attr-defined]
                .values(last_topic=bindparam("lt"), content_cycle=bindparam("cy")),
                [{"spid": k, "lt": v["last_topic"], "cy": v["cycle"]} for k, v in spaces.items()],
            )
        await conn.execute(
            update(Schedule)
            .where(Schedule.__table__.c.id == bindparam("sid"))  # type: ignore[attr-defined]
            .values(next_due_at=bindparam("next")),
            advances,
        )
        return jobs

    @staticmethod
    def _row(r: Any, due: datetime, status: str, content: str | None) -> dict[str, Any]:
        return {
            "space_id": r.space_id,
            "schedule_id": r.id,
            "kind": r.kind,
            "local_date": local_date(due, r.timezone),
            "due_at": due,
            "status": status,
            "attempts": 0,
            "content_id": content,
            "reason": "came due while the bot was down" if status == "missed" else None,
        }

    async def _seen(self, conn: AsyncConnection, space_ids: list[int]) -> dict[int, set[str]]:
        h, sp = ContentHistory.__table__.c, Space.__table__.c  # type: ignore[attr-defined]
        rows = await conn.execute(
            select(h.space_id, h.prompt_id)
            .join(Space, and_(sp.id == h.space_id, sp.content_cycle == h.cycle))
            .where(h.space_id.in_(space_ids))
        )
        seen: dict[int, set[str]] = {}
        for space_id, prompt_id in rows:
            seen.setdefault(space_id, set()).add(prompt_id)
        return seen

    @staticmethod
    async def _already_keyed(
        conn: AsyncConnection, schedule_ids: list[int], since: date
    ) -> set[tuple[int, date]]:
        d = Delivery.__table__.c  # type: ignore[attr-defined]
        rows = await conn.execute(
            select(d.schedule_id, d.local_date).where(
                d.schedule_id.in_(schedule_ids), d.local_date >= since
            )
        )
        return {(a, b) for a, b in rows}

    async def _claim_retries(self, now: datetime) -> list[Job]:
        d, sp = Delivery.__table__.c, Space.__table__.c  # type: ignore[attr-defined]
        async with self.store.unit() as session:
            conn = await session.connection()
            rows = (
                await conn.execute(
                    select(
                        d.id,
                        d.space_id,
                        d.kind,
                        d.local_date,
                        d.content_id,
                        d.attempts,
                        d.due_at,
                        sp.platform,
                        sp.chat_id,
                    )
                    .join(
                        Space,
                        and_(
                            sp.id == d.space_id, sp.active.is_(True), self._connected(sp.platform)
                        ),
                    )
                    .where(d.status == "retry", d.next_attempt_at <= now)
                    .order_by(d.next_attempt_at)
                    .limit(BATCH)
                )
            ).all()
            if not rows:
                return []
            # A retry that would arrive later than the grace window is stale: give it up.
            stale = [r.id for r in rows if now - r.due_at > self.grace]
            rows = [r for r in rows if now - r.due_at <= self.grace]
            if stale:
                await conn.execute(
                    update(Delivery)
                    .where(d.id.in_(stale))
                    .values(status="missed", reason="still failing after the grace window")
                )
            await conn.execute(
                update(Delivery).where(d.id.in_([r.id for r in rows])).values(status="claimed")
            )
        if not rows:  # the whole batch was stale and is now missed: look at the next batch
            return await self._claim_retries(now)
        return [
            Job(
                r.id,
                r.space_id,
                r.kind,
                r.local_date,
                r.content_id,
                Address(r.platform, r.chat_id),
                r.attempts,
            )
            for r in rows
        ]

    async def _send_one(self, msg: Outgoing) -> SendResult:
        async with self._limit:
            try:
                return await asyncio.wait_for(self.messenger.send(msg), SEND_TIMEOUT)
            except TimeoutError:
                return SendResult(SendStatus.RETRY, reason="timeout")
            except Exception as err:  # an adapter bug must not stop the other chats' deliveries
                log.error("send raised %s; will retry", type(err).__name__)
                return SendResult(SendStatus.RETRY, reason=type(err).__name__)

    async def _send_and_record(self, jobs: list[Job], report: DispatchReport) -> None:
        messages = [render(job, self.library) for job in jobs]
        results = list(await asyncio.gather(*(self._send_one(m) for m in messages)))
        for index, (job, result) in enumerate(zip(jobs, results, strict=True)):
            if result.status is SendStatus.MOVED and result.new_address is not None:
                moved = await self._move(job.space_id, result.new_address)
                report.moved += 1
                job.address = moved
                messages[index] = render(job, self.library)
                results[index] = await self._send_one(messages[index])
        await self._record(jobs, results, report)

    async def _move(self, space_id: int, new: Address) -> Address:
        async with self.store.unit() as session:
            space = await session.get(Space, space_id)
            if space is not None:
                await move_space(session, space, new.chat_id)
        log.info("space %s moved to a new chat id", space_id)
        return new

    async def _record(
        self, jobs: list[Job], results: list[SendResult], report: DispatchReport
    ) -> None:
        now = self.clock.now()
        updates: list[dict[str, Any]] = []
        gone: set[int] = set()
        for job, result in zip(jobs, results, strict=True):
            row: dict[str, Any] = {
                "did": job.delivery_id,
                "status": "sent",
                "attempts": job.attempts + 1,
                "next_attempt_at": None,
                "message_ref": result.message_id,
                "sent_at": None,
                "reason": result.reason or None,
            }
            if result.status is SendStatus.DELIVERED:
                row["sent_at"] = now
                report.sent += 1
            elif result.status is SendStatus.RETRY and job.attempts + 1 < MAX_ATTEMPTS:
                row["status"] = "retry"
                wait = backoff(job.attempts + 1)
                if result.retry_after:
                    wait = max(wait, timedelta(seconds=result.retry_after))
                row["next_attempt_at"] = now + wait
                report.retrying += 1
            else:
                row["status"] = "failed"
                report.failed += 1
                if result.status is SendStatus.GONE:
                    gone.add(job.space_id)
            updates.append(row)
        async with self.store.unit() as session:
            conn = await session.connection()
            await conn.execute(
                update(Delivery)
                .where(Delivery.__table__.c.id == bindparam("did"))  # type: ignore[attr-defined]
                .values(
                    status=bindparam("status"),
                    attempts=bindparam("attempts"),
                    next_attempt_at=bindparam("next_attempt_at"),
                    message_ref=bindparam("message_ref"),
                    sent_at=bindparam("sent_at"),
                    reason=bindparam("reason"),
                ),
                updates,
            )
            if gone:
                await conn.execute(
                    update(Space).where(Space.__table__.c.id.in_(gone)).values(active=False)  # type: ignore[attr-defined]
                )
                report.deactivated += len(gone)
                log.info(
                    "deactivated %d space(s): the chat is gone or the bot was removed", len(gone)
                )
