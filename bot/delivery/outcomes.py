"""Records what each send came to, and acts on the chats that are gone or moved."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from bot.delivery.jobs import DispatchReport, Job
from bot.delivery.planner import backoff
from bot.messages import Address, SendResult, SendStatus
from bot.ports import Clock
from bot.schedule import as_utc
from bot.store import Member, Plain, Space, Store, move_space

log = logging.getLogger(__name__)


def outcome(job: Job, result: SendResult, now: datetime) -> dict[str, Any]:
    """The row a send's result leaves: sent, retry (with its backoff) or failed."""
    row: dict[str, Any] = {
        "did": job.delivery_id,
        "status": "sent",
        "attempts": job.attempts + 1,
        "next_attempt_at": None,
        "message_ref": result.message_id,
        "sent_at": None,
        "reason": result.reason or None,
        # Parts of a split message that arrived stay counted across retries.
        "parts_sent": max(job.parts_sent, result.parts_sent),
    }
    if result.status is SendStatus.DELIVERED:
        row["sent_at"] = now
    elif result.status is SendStatus.RETRY:
        # Retried until the grace window has passed; the retry claim then records it missed.
        row["status"] = "retry"
        wait = backoff(job.attempts + 1)
        if result.retry_after:
            wait = max(wait, timedelta(seconds=result.retry_after))
        row["next_attempt_at"] = now + wait
    else:
        row["status"] = "failed"
    return row


class Recorder:
    """Writes sends' outcomes for one dispatcher."""

    def __init__(self, store: Store, clock: Clock, recorded: Plain) -> None:
        self.store = store
        self.clock = clock
        self.recorded = recorded  # statements.RECORD, compiled for this database

    def outcome(self, job: Job, result: SendResult) -> dict[str, Any]:
        return outcome(job, result, self.clock.now())

    async def move(self, space_id: int, new: Address) -> Address:
        """The space follows its group chat to the new id the platform gave it."""
        async with self.store.unit() as session:
            space = await session.get(Space, space_id)
            if space is not None:
                await move_space(session, space, new.chat_id)
        log.info("space %s moved to a new chat id", space_id)
        return new

    async def record(
        self,
        jobs: list[Job],
        results: dict[int, SendResult],
        report: DispatchReport,
        quiet: set[int],
        broken: dict[int, str],
        unwritten: dict[int, dict[str, Any]],
        taken: set[int],
    ) -> None:
        """Counts every job's outcome, writes those not written yet, and acts on chats that
        are gone; rows another instance took over are theirs to record."""
        updates: list[dict[str, Any]] = []
        gone: set[int] = set()
        blocked: set[int] = set()  # partners who blocked Tandem in their private chat
        for index, job in enumerate(jobs):
            if index in taken:
                continue
            if index in quiet or index in broken:
                # Nothing to say after all (a quiet week, a promise settled since it was
                # claimed), or a job that could not be put together: recorded, never sent.
                updates.append(
                    {
                        "did": job.delivery_id,
                        "status": "skipped" if index in quiet else "failed",
                        "attempts": job.attempts,
                        "next_attempt_at": None,
                        "message_ref": None,
                        "sent_at": None,
                        "reason": broken.get(index, "nothing to send"),
                        "parts_sent": job.parts_sent,
                    }
                )
                report.failed += index in broken
                continue
            result = results[index]
            if result.status is SendStatus.DELIVERED:
                report.sent += 1
                if job.due_at is not None:
                    late = self.clock.now() - as_utc(job.due_at)
                    report.lateness.append(late.total_seconds())
            elif result.status is SendStatus.RETRY:
                report.retrying += 1
            else:
                report.failed += 1
                if result.status is SendStatus.GONE:
                    (blocked if job.recipient else gone).add(job.recipient or job.space_id)
            if index in unwritten:
                updates.append(unwritten[index])
        async with self.store.writing() as conn:
            await self.recorded.run(conn, updates)
            if blocked:
                # The space goes on; that partner answers in the shared chat until they /pair again.
                member_id = Member.__table__.c.id  # type: ignore[attr-defined]
                await conn.execute(
                    update(Member).where(member_id.in_(blocked)).values(private_chat=None)
                )
            if gone:
                await conn.execute(
                    update(Space)
                    .where(Space.__table__.c.id.in_(gone))  # type: ignore[attr-defined]
                    .values(active=False, deactivated_at=self.clock.now())
                )
                report.deactivated += len(gone)
                log.info(
                    "deactivated %d space(s): the chat is gone or the bot was removed", len(gone)
                )
