"""The claim and hand-over SQL: what is due is written claimed, then marked `handing` to send."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.content import Library
from bot.delivery.jobs import DispatchReport, Job, Partner
from bot.delivery.leases import hold
from bot.delivery.planner import (
    Key,
    NextAsk,
    SchedulePlanner,
    Sibling,
    ask_times,
    plan_promises,
    retry_job,
    sort_retries,
)
from bot.delivery.rotation import side_rounds
from bot.delivery.statements import HAND, RETURNED, HotWrites, Written, claim_insert
from bot.store import (
    ContentHistory,
    Delivery,
    Member,
    Promise,
    PromiseStatus,
    Schedule,
    Space,
    Store,
)


class Claims:
    """One instance's claims: each takes at most `batch` due rows in one transaction."""

    def __init__(
        self,
        store: Store,
        library: Library,
        instance: str,
        grace: timedelta,
        platforms: frozenset[str] | None,
        hot: HotWrites,
    ) -> None:
        self.store = store
        self.library = library
        self.instance = instance
        self.grace = grace
        self.platforms = platforms  # only chats whose platform is connected now are claimed
        self.hot = hot

    def _connected(self, platform_column: Any) -> Any:
        if self.platforms is None:
            return true()
        # On SQLite, `platform || ''` keeps the planner off the space's (platform, chat_id) index:
        # through it, a claim sorted every space for each batch instead of walking the due-time
        # index (100 ms a batch at 200,000 spaces, against 1 ms), whatever the statistics say.
        column = platform_column.concat("") if self.store.is_sqlite else platform_column
        return column.in_(self.platforms)

    def _locked(self, query: Any, table: Any) -> Any:
        """On PostgreSQL, the rows a claim reads are locked, and rows another instance is
        claiming are skipped rather than waited for; SQLite has one writer already."""
        if self.store.is_sqlite:
            return query
        return query.with_for_update(skip_locked=True, of=table)

    def _insert(self) -> Any:
        return claim_insert(self.store.engine.dialect.name)

    async def schedules(
        self, now: datetime, report: DispatchReport, batch: int
    ) -> list[Job] | None:
        """The next batch of due schedules, claimed; None once no due schedule is left."""
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
                sp.direct,
                sp.question_id,
                sp.apart,
            )
            .join(
                Space, and_(sp.id == s.space_id, sp.active.is_(True), self._connected(sp.platform))
            )
            .where(s.next_due_at <= now)
            .order_by(s.next_due_at)
            .limit(batch)
        )
        async with self.store.writing() as conn:
            rows = (await conn.execute(self._locked(query, Schedule.__table__))).all()  # type: ignore[attr-defined]
            if not rows:
                return None
            return await self._claim_rows(conn, rows, now, report)

    async def _claim_rows(
        self, conn: AsyncConnection, rows: Sequence[Any], now: datetime, report: DispatchReport
    ) -> list[Job]:
        space_ids = list({r.space_id for r in rows})
        seen = await self._seen(conn, space_ids)
        partners = await self._partners(conn, space_ids)
        sides = await self._side_state(
            conn, [p for ps in partners.values() for p in ps if p.side and p.private_chat]
        )
        siblings = await self._siblings(conn, rows, space_ids)
        oldest = min(r.next_due_at for r in rows).date() - timedelta(days=1)
        keyed = {r.id for r in rows} | {s.id for kinds in siblings.values() for s in kinds.values()}
        already = await self._already_keyed(conn, list(keyed), oldest)
        already |= await self._asked_for(conn, rows, siblings, oldest)
        plan = SchedulePlanner(
            now,
            self.grace,
            hold(self.instance, now),
            self.library,
            partners,
            sides,
            seen,
            already,
            siblings,
        ).plan(rows)
        report.missed += plan.missed
        jobs: list[Job] = []
        # Written before the send: the unique (schedule, local date, recipient, kind) key makes
        # a second send of the same day impossible, whatever happens after this commit.
        for d in await self._write_claims(conn, plan.inserts):
            if d.status == "claimed":
                jobs.append(
                    Job(
                        d.id,
                        d.space_id,
                        d.kind,
                        d.local_date,
                        d.content_id,
                        plan.addresses[(d.schedule_id, d.recipient, d.kind)],
                        recipient=d.recipient,
                        variant=d.variant,
                        due_at=d.due_at,
                    )
                )
        if plan.history:
            await self.hot.shown.run(conn, plan.history)
            await self.hot.rotated.run(conn, plan.rotations)
            if plan.side_cycles:
                await conn.execute(
                    update(Member)
                    .where(Member.__table__.c.id == bindparam("mid"))  # type: ignore[attr-defined]
                    .values(side_cycle=bindparam("cy")),
                    plan.side_cycles,
                )
        await self.hot.advanced.run(conn, plan.advances)
        return jobs

    async def _write_claims(
        self, conn: AsyncConnection, inserts: list[dict[str, Any]]
    ) -> list[Any]:
        """Inserts a claim's rows; returns those written (with their ids), in `RETURNED` form.

        PostgreSQL: a row whose key another instance wrote first is skipped, not the whole batch,
        and RETURNING says which rows are ours. SQLite has one writer (a file lock keeps a second
        process out, the write lock a second transaction), and the claim already left out every
        key written before: the ids are given here, and the rows inserted as plain tuples."""
        if not inserts:
            return []
        if not self.store.is_sqlite:
            result = await conn.execute(
                self._insert().returning(
                    *(Delivery.__table__.c[name] for name in RETURNED)  # type: ignore[attr-defined]
                ),
                inserts,
            )
            return list(result.all())
        last = await conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM delivery")
        first = int(last.scalar_one()) + 1
        for offset, row in enumerate(inserts):
            row["id"] = first + offset
        await self.hot.claimed.run(conn, inserts)
        return [Written(*(row[name] for name in RETURNED)) for row in inserts]

    async def _siblings(
        self, conn: AsyncConnection, rows: Sequence[Any], space_ids: list[int]
    ) -> dict[int, dict[str, Sibling]]:
        """Each space's prompt and check-in schedules: the step and the check-in due to the same
        chat on one day go as one message, planned by whichever comes due first. On PostgreSQL
        one not due here is locked too, or marked held when another instance is claiming it."""
        found: dict[int, dict[str, Sibling]] = {}  # those due here the planner adds itself
        s = Schedule.__table__.c  # type: ignore[attr-defined]
        query = select(s.id, s.space_id, s.kind, s.next_due_at, s.local_time, s.weekdays).where(
            s.space_id.in_(space_ids),
            s.kind.in_(("prompt", "checkin")),
            s.id.not_in([r.id for r in rows]),
        )
        others = (await conn.execute(query)).all()
        ours = {o.id for o in others}
        if others and not self.store.is_sqlite:
            locking = self._locked(select(s.id).where(s.id.in_(ours)), Schedule.__table__)  # type: ignore[attr-defined]
            ours = set((await conn.execute(locking)).scalars().all())
        for o in others:
            found.setdefault(o.space_id, {})[o.kind] = Sibling(
                o.id, o.next_due_at, o.id not in ours, o.local_time, o.weekdays
            )
        return found

    @staticmethod
    async def _seen(conn: AsyncConnection, space_ids: list[int]) -> dict[int, set[str]]:
        h, sp = ContentHistory.__table__.c, Space.__table__.c  # type: ignore[attr-defined]
        rows = await conn.execute(
            select(h.space_id, h.prompt_id)
            .join(Space, and_(sp.id == h.space_id, sp.content_cycle == h.cycle))
            .where(h.space_id.in_(space_ids), h.member_id == 0)
        )
        seen: dict[int, set[str]] = {}
        for space_id, prompt_id in rows:
            seen.setdefault(space_id, set()).add(prompt_id)
        return seen

    @staticmethod
    async def _partners(conn: AsyncConnection, space_ids: list[int]) -> dict[int, list[Partner]]:
        m = Member.__table__.c  # type: ignore[attr-defined]
        rows = await conn.execute(
            select(m.id, m.space_id, m.private_chat, m.side, m.side_cycle)
            .where(m.space_id.in_(space_ids), m.partner.is_(True))
            .order_by(m.id)
        )
        found: dict[int, list[Partner]] = {}
        for r in rows:
            found.setdefault(r.space_id, []).append(Partner(*r))
        return found

    async def _side_state(
        self, conn: AsyncConnection, members: list[Partner]
    ) -> dict[int, dict[str, Any]]:
        """Each sided partner's round, from the side prompts they were shown."""
        if not members:
            return side_rounds(members, (), self.library)
        h = ContentHistory.__table__.c  # type: ignore[attr-defined]
        rows = await conn.execute(
            select(h.member_id, h.prompt_id, h.cycle)
            .where(h.member_id.in_([p.id for p in members]))
            .order_by(h.shown_at, h.id)
        )
        return side_rounds(members, rows, self.library)

    @staticmethod
    async def _already_keyed(
        conn: AsyncConnection, schedule_ids: list[int], since: date
    ) -> set[Key]:
        d = Delivery.__table__.c  # type: ignore[attr-defined]
        rows = await conn.execute(
            select(d.schedule_id, d.local_date, d.recipient, d.kind).where(
                d.schedule_id.in_(schedule_ids), d.local_date >= since
            )
        )
        return {(a, b, c, k) for a, b, c, k in rows}

    @staticmethod
    async def _asked_for(
        conn: AsyncConnection,
        rows: Sequence[Any],
        siblings: dict[int, dict[str, Sibling]],
        since: date,
    ) -> set[Key]:
        """Check-ins asked for with /checkin (rows of no schedule), keyed as their space's
        scheduled check-in: that day's scheduled one then never comes a second time to a chat
        that had it already, and the step does not wait for it."""
        checkin_of = {r.space_id: r.id for r in rows if r.kind == "checkin"}
        for space_id, kinds in siblings.items():
            if "checkin" in kinds:
                checkin_of.setdefault(space_id, kinds["checkin"].id)
        if not checkin_of:
            return set()
        d = Delivery.__table__.c  # type: ignore[attr-defined]
        asked = await conn.execute(
            select(d.space_id, d.local_date, d.recipient).where(
                d.schedule_id.is_(None),  # uq_delivery_key's first column: today's few rows
                d.local_date >= since,
                d.kind == "checkin",
                d.space_id.in_(list(checkin_of)),
            )
        )
        return {(checkin_of[sp], day, to, "checkin") for sp, day, to in asked}

    async def promises(
        self, now: datetime, report: DispatchReport, batch: int, next_ask: NextAsk
    ) -> list[Job] | None:
        """Promises whose follow-up is due, claimed (see `plan_promises`); None once
        no due follow-up is left."""
        p, sp = Promise.__table__.c, Space.__table__.c  # type: ignore[attr-defined]
        m, s = Member.__table__.c, Schedule.__table__.c  # type: ignore[attr-defined]
        query = (
            select(
                p.id,
                p.space_id,
                p.member_id,
                p.due_date,
                p.next_ask_at,
                p.asks,
                p.shared,
                sp.timezone,
                sp.platform,
                sp.chat_id,
                sp.direct,
                m.private_chat,
            )
            .join(
                Space, and_(sp.id == p.space_id, sp.active.is_(True), self._connected(sp.platform))
            )
            .join(Member, and_(m.id == p.member_id, m.partner.is_(True)))
            .where(p.next_ask_at <= now, p.status == PromiseStatus.OPEN)
            .order_by(p.next_ask_at)
            .limit(batch)
        )
        async with self.store.writing() as conn:
            rows = (await conn.execute(self._locked(query, Promise.__table__))).all()  # type: ignore[attr-defined]
            if not rows:
                return None
            found = await conn.execute(
                select(s.space_id, s.kind, s.local_time).where(
                    s.space_id.in_({r.space_id for r in rows}), s.kind.in_(("checkin", "prompt"))
                )
            )
            times = ask_times(found)
            d = Delivery.__table__.c  # type: ignore[attr-defined]
            keyed = await conn.execute(
                select(d.promise_id, d.local_date).where(d.promise_id.in_([r.id for r in rows]))
            )
            already = {(a, b) for a, b in keyed}
            plan = plan_promises(
                rows, now, self.grace, hold(self.instance, now), times, already, next_ask
            )
            report.missed += plan.missed
            jobs: list[Job] = []
            if plan.inserts:
                # Written before the send: (promise, local date) is unique, so never asked twice.
                result = await conn.execute(
                    self._insert().returning(
                        *(Delivery.__table__.c[name] for name in (*RETURNED, "promise_id"))  # type: ignore[attr-defined]
                    ),
                    plan.inserts,
                )
                for row in result.all():
                    if row.status == "claimed":
                        jobs.append(
                            Job(
                                row.id,
                                row.space_id,
                                "promise",
                                row.local_date,
                                row.content_id,
                                plan.addresses[row.promise_id],
                                recipient=row.recipient,
                                due_at=row.due_at,
                            )
                        )
            await conn.execute(
                update(Promise)
                .where(p.id == bindparam("pid"))
                .values(next_ask_at=bindparam("next"), asks=bindparam("asks")),
                plan.advances,
            )
        return jobs

    async def retries(self, now: datetime, report: DispatchReport, batch: int) -> list[Job] | None:
        """The next batch of due retries, claimed; None once no due retry is left.

        Only rows this claim's UPDATE actually moved out of `retry` are sent: a row another
        instance claimed in between is theirs (on PostgreSQL the read already skips rows
        another claim holds)."""
        d, sp = Delivery.__table__.c, Space.__table__.c  # type: ignore[attr-defined]
        m = Member.__table__.c  # type: ignore[attr-defined]
        query = (
            select(
                d.id,
                d.space_id,
                d.kind,
                d.local_date,
                d.content_id,
                d.attempts,
                d.due_at,
                d.recipient,
                d.variant,
                d.parts_sent,
                sp.platform,
                sp.chat_id,
                m.private_chat,
            )
            .join(
                Space,
                and_(sp.id == d.space_id, sp.active.is_(True), self._connected(sp.platform)),
            )
            .outerjoin(Member, m.id == d.recipient)
            .where(d.status == "retry", d.next_attempt_at <= now)
            .order_by(d.next_attempt_at)
            .limit(batch)
        )
        async with self.store.writing() as conn:
            rows = (await conn.execute(self._locked(query, Delivery.__table__))).all()  # type: ignore[attr-defined]
            if not rows:
                return None
            stale, unlinked, rows = sort_retries(rows, now, self.grace)
            if stale:
                given_up = await conn.execute(
                    update(Delivery)
                    .where(d.id.in_(stale), d.status == "retry")
                    .values(status="missed", reason="still failing after the grace window")
                )
                report.missed += int(getattr(given_up, "rowcount", 0) or 0)
            if unlinked:
                await conn.execute(
                    update(Delivery)
                    .where(d.id.in_(unlinked), d.status == "retry")
                    .values(status="failed", reason="private chat unlinked")
                )
            if rows:
                taken = await conn.execute(
                    update(Delivery)
                    .where(d.id.in_([r.id for r in rows]), d.status == "retry")
                    .values(status="claimed", **hold(self.instance, now))
                    .returning(d.id)
                )
                ours = set(taken.scalars().all())
                rows = [r for r in rows if r.id in ours]
        return [retry_job(r) for r in rows]

    async def hand_over(self, handing: list[int], outcomes: list[dict[str, Any]]) -> set[int]:
        """Writes finished outcomes and marks the next rows `handing`; returns those marked,
        which are only the rows still claimed by this instance."""
        async with self.store.writing() as conn:
            await self.hot.recorded.run(conn, outcomes)
            if not handing:
                return set()
            marked = await conn.execute(HAND, {"ids": handing, "me": self.instance})
            return set(marked.scalars().all())
